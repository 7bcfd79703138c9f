/**
 * The Auto Scaling endpoint's cron is the simulation's (`sim/models/autoscaling/cron.ts`): one implementation of
 * scheduled actions' recurrences for both runtimes.
 */
export { CronError, nextCronTime, parseCron, type CronSchedule } from '../../sim/models/autoscaling/cron.ts';
