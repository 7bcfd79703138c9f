import { stringify } from 'yaml';
import type { PlannedWorkflow } from '../../../sim/models/workload/replay-plan.ts';
import { writtenDurationMs } from '../../../sim/domain/build-config.ts';

/**
 * The `.circleci/config.yml` a planned workflow is pushed with: one job per planned job, run in sequence
 * (each `requires` the one before), with its executor, resource class and parallelism, its context (a job that
 * uses contexts names `CONTEXT`), and how long its steps run in the scenario's time (`x-twin-duration-ms`, one number, or one a task when
 * they differ; build-agent divides it by the time scale).
 */
/** The context the replay's jobs that use contexts name (contexts-service holds it, its secret in vault-cci). */
export const CONTEXT = 'twin-deploy';
/** The contexts a live stack that runs the replay's pushes is seeded with: `CONTEXT` and its secrets. */
export const REPLAY_CONTEXTS: Readonly<Record<string, Readonly<Record<string, string>>>> = { [CONTEXT]: { DEPLOY_TOKEN: 'twin-secret', AWS_REGION: 'us-east-1' } };

export function workflowConfig(w: PlannedWorkflow): string {
  const jobs: Record<string, unknown> = {};
  const order: unknown[] = [];
  w.jobs.forEach((j, i) => {
    jobs[j.name] = {
      ...(j.executor === 'machine' ? { machine: { image: 'ubuntu-2004:202010-01' } } : { docker: [{ image: 'cimg/base:stable' }] }),
      resource_class: j.resourceClass,
      parallelism: j.parallelism,
      'x-twin-duration-ms': writtenDurationMs(j.taskDurationsMs),
      ...(j.fails ? { 'x-twin-fails': true } : {}),
      ...(j.artifacts > 0 ? { 'x-twin-artifacts': j.artifacts } : {}),
      ...(j.testResults ? { 'x-twin-test-results': true } : {}),
      steps: ['checkout', ...(j.executor === 'remote_docker' ? ['setup_remote_docker'] : []), { run: `make ${j.name}` }],
    };
    const entry = { ...(i === 0 ? {} : { requires: [w.jobs[i - 1]!.name] }), ...(j.usesContexts ? { context: [CONTEXT] } : {}) };
    order.push(Object.keys(entry).length === 0 ? j.name : { [j.name]: entry });
  });
  return stringify({ version: 2.1, jobs, workflows: { version: 2, [w.templateName]: { jobs: order } } });
}
