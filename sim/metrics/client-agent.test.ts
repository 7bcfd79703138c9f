import { describe, expect, it } from 'vitest';
import { clientPollLines, type ClientPoll } from './client-agent.ts';

const poll: ClientPoll = {
  host: 'ip-10-0-0-1',
  status: 'ready',
  drain: true,
  cpuTotalMhz: 20_000,
  cpuReservedMhz: 5_000,
  cpuUsedMhz: 2_500,
  memoryTotalMb: 32_768,
  memoryReservedMb: 4_096,
  memoryUsedMb: 1_024,
  diskTotalMb: 102_400,
  diskReservedMb: 0,
  diskUsedMb: 300,
};

describe('clientPollLines', () => {
  it("sends an answered poll as DogStatsD gauges with the seeds' drain and status tags and the host", () => {
    expect(clientPollLines('ip-10-0-0-1', poll)).toEqual([
      'circle.nomad.client_agent.poll_failure:0|g|#host:ip-10-0-0-1',
      'circle.nomad.client_agent.resources.total.cpu:20000|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.used.cpu:2500|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.available.cpu:12500|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.total.memory:32768|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.used.memory:1024|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.available.memory:27648|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.total.disk:102400|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.used.disk:300|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.available.disk:102100|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.total.iops:0|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.used.iops:0|g|#drain:true,host:ip-10-0-0-1,status:ready',
      'circle.nomad.client_agent.resources.available.iops:0|g|#drain:true,host:ip-10-0-0-1,status:ready',
    ]);
  });

  it('sends a failed poll as the poll failure alone', () => {
    expect(clientPollLines('ip-10-0-0-1', undefined)).toEqual(['circle.nomad.client_agent.poll_failure:1|g|#host:ip-10-0-0-1']);
  });
});
