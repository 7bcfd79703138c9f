export { ACTION_LOGS, PIPELINE_DB, PIPELINE_MIGRATIONS, RUN_QUEUE, SCHEDULERER_QUEUE, WORKFLOW_EVENTS_QUEUE, type RunMessage, type ScheduleMessage, type WorkflowEvent } from './schema.ts';
export { Frontend, UI_REQUESTS, type FrontendOptions } from './frontend.ts';
export { PicardDispatcher, defaultResourceClasses, scheduleMessage } from './picard-dispatcher.ts';
export { WorkflowsConductor } from './workflows-conductor.ts';
export { AuditLogService, AuditPublisher, AUDIT_QUEUE, type AuditEvent } from './audit-log-service.ts';
export { Schedulerer, buildJob, buildJobs } from './schedulerer.ts';
export { OutputProcessor, outputKey } from './output-processor.ts';
export { BuildAgentRunner } from './build-agent-runner.ts';
export { ledger, queueTimePercentiles, type Ledger, type Percentiles } from './ledger.ts';
