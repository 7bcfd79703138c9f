import http from 'node:http';
import { LOG_LINES } from '../../../sim/symptoms/log-lines.ts';
import type { ServiceLog } from '../service-logs-writer.ts';

/** Where notifier reaches exim and slanger (their ports on the Services machine); absent, that one is not tried. */
export interface NotifierTargets {
  readonly eximPort?: number;
  readonly slangerPort?: number;
}

/** How long notifier waits for exim or slanger: a hung one (accepting, never answering) is not reached either. */
export const NOTIFY_TIMEOUT_MS = 1_000;

/**
 * notifier, as output-processor's stage runs it: when a build ends it mails a failure's committers through exim and
 * pushes the status change to slanger for the open builds pages, and writes what it did in notifier's log (the
 * simulation's lines). The twin's exim and slanger are health-only services: a request either answers (any status)
 * stands for the SMTP exchange or the Pusher event; a refused connection or no answer within NOTIFY_TIMEOUT_MS is a
 * mail not sent or an update not pushed, which the live run's symptoms count from this log.
 */
export class Notifier {
  mailsSent = 0;
  mailsUnsent = 0;
  pushed = 0;
  unpushed = 0;

  constructor(
    private readonly targets: NotifierTargets,
    private readonly log: ServiceLog,
  ) {}

  /** A build ended: its mail (a failure) and its status change, both at once; resolves when both were tried. */
  async buildEnded(slug: string, fate: 'succeeded' | 'failed'): Promise<void> {
    await Promise.all([fate === 'failed' ? this.mail(slug) : undefined, this.push(slug, fate)]);
  }

  private async mail(slug: string): Promise<void> {
    if (this.targets.eximPort === undefined) return;
    if (await answers(this.targets.eximPort, '/smtp', { slug })) {
      this.mailsSent++;
      return this.log.write(LOG_LINES.emailSending(slug));
    }
    this.mailsUnsent++;
    this.log.write(LOG_LINES.emailFailed(slug));
    this.log.write(LOG_LINES.emailFailedCause);
  }

  private async push(slug: string, fate: string): Promise<void> {
    if (this.targets.slangerPort === undefined) return;
    if (await answers(this.targets.slangerPort, '/apps/circleci/events', { slug, fate })) {
      this.pushed++;
      return;
    }
    this.unpushed++;
    this.log.write(LOG_LINES.livePushFailed(slug, fate));
  }
}

/** Whether something on the port answers an HTTP POST of `body` within NOTIFY_TIMEOUT_MS (any status). */
function answers(port: number, path: string, body: object): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', timeout: NOTIFY_TIMEOUT_MS, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', () => resolve(false));
    req.end(JSON.stringify(body));
  });
}
