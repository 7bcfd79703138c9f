import { afterEach, describe, expect, it } from 'vitest';
import { DescribeImagesCommand, DescribeInstanceStatusCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { ManualClock } from './clock.ts';
import { Ec2Api, type StartedEc2Api } from './server.ts';

let ec2: StartedEc2Api | undefined;
afterEach(async () => {
  await ec2?.stop();
  ec2 = undefined;
});

const AUTH = { authorization: 'AWS4-HMAC-SHA256 Credential=test', 'content-type': 'application/x-www-form-urlencoded' };

describe('Ec2Api on the HTTP layer', () => {
  it('answers what the router refuses in the AWS XML shape: a PUT is a 405 naming GET and POST', async () => {
    ec2 = await new Ec2Api().start();
    const res = await fetch(ec2.url, { method: 'PUT', headers: AUTH, body: 'Action=DescribeInstances&Version=2016-11-15' });
    expect([res.status, res.headers.get('allow'), res.headers.get('content-type')]).toEqual([405, 'GET, HEAD, POST', 'text/xml;charset=UTF-8']);
    expect(await res.text()).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response><Errors><Error><Code>InvalidHttpRequest<\/Code><Message>PUT is not allowed on \/; allowed: GET, HEAD, POST<\/Message><\/Error><\/Errors><RequestID>/);
    const scaling = await fetch(`${ec2.autoscalingUrl}/x`, { method: 'DELETE', headers: AUTH });
    expect(await scaling.text()).toContain('<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>InvalidHttpRequest</Code>');
  });

  it('refuses a body past 1 MiB with RequestEntityTooLarge (413), and still serves a body at the limit', async () => {
    ec2 = await new Ec2Api().start();
    const base = 'Action=DescribeInstances&Version=2016-11-15&Pad=';
    const atLimit = await fetch(ec2.url, { method: 'POST', headers: AUTH, body: base + 'x'.repeat((1 << 20) - base.length) });
    expect(atLimit.status).toBe(200);
    const past = await fetch(ec2.url, { method: 'POST', headers: AUTH, body: base + 'x'.repeat((1 << 20) - base.length + 1) });
    expect([past.status, past.headers.get('connection')]).toEqual([413, 'close']);
    expect(await past.text()).toContain('<Code>RequestEntityTooLarge</Code><Message>request body is larger than 1048576 bytes</Message>');
    expect(ec2.requestCounts.get('ec2:(none)')).toBe(1);
  });

  it('answers its health probe on any query method, and the Query API on any path', async () => {
    ec2 = await new Ec2Api().start();
    expect(await (await fetch(`${ec2.url}/_twin/health`)).json()).toEqual({ status: 'ok', service: 'ec2+autoscaling' });
    const res = await fetch(`${ec2.url}/some/path?Action=DescribeInstances&Version=2016-11-15`, { headers: AUTH });
    expect([res.status, (await res.text()).includes('<DescribeInstancesResponse')]).toEqual([200, true]);
  });

  it('DescribeInstanceStatus: a running instance\'s checks pass; a terminated one is listed only with IncludeAllInstances, its checks not-applicable', async () => {
    const clock = new ManualClock();
    ec2 = await new Ec2Api().withClock(clock).start();
    const client = new EC2Client({ endpoint: ec2.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    try {
      const imageId = (await client.send(new DescribeImagesCommand({}))).Images![0]!.ImageId!;
      const id = (await client.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
      clock.advance(600_000);
      const running = (await client.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }))).InstanceStatuses!;
      expect(running.map((x) => [x.InstanceId, x.InstanceState?.Name, x.SystemStatus?.Status, x.InstanceStatus?.Status, x.InstanceStatus?.Details?.[0]?.Status])).toEqual([[id, 'running', 'ok', 'ok', 'passed']]);
      await client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      clock.advance(600_000);
      expect((await client.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }))).InstanceStatuses).toEqual([]);
      const all = (await client.send(new DescribeInstanceStatusCommand({ InstanceIds: [id], IncludeAllInstances: true }))).InstanceStatuses!;
      expect(all.map((x) => [x.InstanceState?.Name, x.SystemStatus?.Status, x.InstanceStatus?.Status])).toEqual([['terminated', 'not-applicable', 'not-applicable']]);
    } finally {
      client.destroy();
    }
  });
});
