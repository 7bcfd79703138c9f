import { describe, expect, it } from 'vitest';
import { finishedFate, REASONS, STUCK_REASONS, unfinishedFate, type UnfinishedBuild } from './fates.ts';

const at = (over: Partial<UnfinishedBuild>): UnfinishedBuild => ({ stage: 'run-queue', messageWaiting: true, nomadWiped: false, brokerWentDown: false, ...over });

describe('finishedFate', () => {
  it('succeeds only with no platform failure, no failed task and green tests', () => {
    expect(finishedFate({ infraFailure: undefined, tasksFailed: 0, failsOnItsOwn: false })).toEqual({ fate: 'succeeded', reason: '' });
  });

  it("names the platform's reason first, then a task's, then the tests'", () => {
    expect(finishedFate({ infraFailure: 'vm-service down: no machine instance', tasksFailed: 1, failsOnItsOwn: true })).toEqual({ fate: 'failed', reason: 'vm-service down: no machine instance' });
    expect(finishedFate({ infraFailure: undefined, tasksFailed: 1, failsOnItsOwn: true })).toEqual({ fate: 'failed', reason: REASONS.taskFailed });
    expect(finishedFate({ infraFailure: undefined, tasksFailed: 0, failsOnItsOwn: true })).toEqual({ fate: 'failed', reason: 'tests failed (the build itself)' });
  });
});

describe('REASONS', () => {
  it('say which service was down and what the job lacked, in the words both runtimes record', () => {
    expect(REASONS.noVmInstance('vm-service', 'remote_docker')).toBe('vm-service down: no remote Docker instance');
    expect(REASONS.noVmInstance('postgres', 'machine')).toBe('postgres down: no machine instance');
    expect(REASONS.configFetchFailed('redis')).toBe('redis down: the GitHub API call for config.yml failed');
  });
});

describe('unfinishedFate', () => {
  it('a build whose queue message is still there is stuck where it waits', () => {
    expect(unfinishedFate(at({}))).toEqual({ fate: 'stuck', reason: 'still in the run queue at the end of the run' });
    expect(unfinishedFate(at({ stage: 'scheduling' }))).toEqual({ fate: 'stuck', reason: STUCK_REASONS.scheduling });
  });

  it('a build whose queue message is gone is lost, with the queue, and why', () => {
    expect(unfinishedFate(at({ messageWaiting: false, brokerWentDown: true }))).toEqual({ fate: 'lost', reason: 'message lost from a non-durable queue when rabbitmq went down (run-queue)' });
    expect(unfinishedFate(at({ stage: 'scheduling', messageWaiting: false, brokerWentDown: true })).reason).toBe(REASONS.nonDurableQueueLost('schedulerer'));
    expect(unfinishedFate(at({ messageWaiting: false }))).toEqual({ fate: 'lost', reason: 'its run-queue message is gone (never consumed)' });
  });

  it('a wiped Nomad state loses what was pending or running there, and nothing else', () => {
    expect(unfinishedFate(at({ stage: 'running', nomadWiped: true }))).toEqual({ fate: 'lost', reason: REASONS.nomadWipedRunning });
    expect(unfinishedFate(at({ stage: 'pending', nomadWiped: true }))).toEqual({ fate: 'lost', reason: REASONS.nomadWipedPending });
    expect(unfinishedFate(at({ stage: 'run-queue', nomadWiped: true }))).toEqual({ fate: 'stuck', reason: STUCK_REASONS['run-queue'] });
  });

  it('pending and running builds do not need a queue message to be stuck', () => {
    expect(unfinishedFate(at({ stage: 'running', messageWaiting: false, brokerWentDown: true }))).toEqual({ fate: 'stuck', reason: 'still running at the end of the run' });
    expect(unfinishedFate(at({ stage: 'pending', messageWaiting: false }))).toEqual({ fate: 'stuck', reason: 'still pending in Nomad (no capacity) at the end of the run' });
  });
});
