import { describe, expect, it } from 'vitest';
import { backendOptionsFromEnv, liveBackends } from './backends.ts';
import { loadProfile } from '../../fixtures/load.ts';

describe('liveBackends', () => {
  const profile = loadProfile('2.19.6');

  it('runs the ten pipeline containers as stages in worker threads, each waiting for what it connects to', () => {
    const { services } = liveBackends(profile);
    expect(Object.keys(services).sort()).toEqual(['audit-log-service', 'contexts-service', 'dispatcher', 'frontend', 'output-processor', 'picard-dispatcher', 'schedulerer', 'vault-cci', 'vm-service', 'workflows-conductor']);
    expect(services['picard-dispatcher']!.needs).toEqual(expect.arrayContaining(['rabbitmq', 'postgres', 'github', 'contexts-service']));
    expect(services.dispatcher!.needs).toEqual(['postgres', 'rabbitmq']);
    expect(services['contexts-service']!.needs).toEqual(expect.arrayContaining(['postgres', 'vault-cci']));
    expect(services['vm-service']!.needs).toEqual(['ec2']);
    expect(services['output-processor']!.needs).toEqual(expect.arrayContaining(['s3', 'mongo', 'redis']));
    expect(services.frontend!.backend).toBe('twin pipeline stage (worker thread)');
  });

  it('puts objects in S3 outside the Services machine, or with storage: fileserved in the fileserved container', () => {
    const s3 = liveBackends(profile);
    expect(Object.keys(s3.externals)).toContain('s3');
    expect(s3.backends.fileserved).toBeUndefined();
    const fileserved = liveBackends(profile, { storage: 'fileserved' });
    expect(Object.keys(fileserved.externals)).not.toContain('s3');
    expect(fileserved.backends.fileserved).toBeDefined();
    expect(fileserved.services['audit-log-service']!.needs).toContain('fileserved');
  });

  it('reads S3 from TWIN_S3_URL, else AWS_ENDPOINT_URL (LocalStack serves both EC2 and S3)', () => {
    expect(backendOptionsFromEnv({ TWIN_S3_URL: 'http://127.0.0.1:9000/twin', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }).urls?.s3).toBe('http://127.0.0.1:9000/twin');
    expect(backendOptionsFromEnv({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }).urls?.s3).toBe('http://127.0.0.1:4566');
    expect(backendOptionsFromEnv({}).urls?.s3).toBeUndefined();
  });
});
