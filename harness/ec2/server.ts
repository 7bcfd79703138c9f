import type { IncomingMessage } from 'node:http';
import { HttpError, HttpListenError, HttpRoutes, LAYER_ERROR_CODES, listenHttp, sendJson, sendText, type ErrorAnswer, type HttpRequest, type ListeningHttp } from '../http/index.ts';
import { ProviderError, type StartedComponent } from '../providers/types.ts';
import { AUTOSCALING_ACTIONS } from './autoscaling-actions.ts';
import {
  CLOUDWATCH_NAMESPACE,
  CLOUDWATCH_TARGET_PREFIX,
  CLOUDWATCH_VERSION,
  cloudWatchErrorShape,
  outputToJson,
  outputToXmlNode,
  queryToInput,
  runCloudWatchAction,
  type CwInput,
} from './cloudwatch-actions.ts';
import type { Clock } from './clock.ts';
import { EC2_ACTIONS } from './ec2-actions.ts';
import { AwsApiError } from './errors.ts';
import { QueryParams } from './query.ts';
import { Ec2State, type Ec2StateOptions } from './state.ts';
import {
  AUTOSCALING_VERSION,
  EC2_NAMESPACE,
  EC2_VERSION,
  autoScalingErrorXml,
  autoScalingResponseXml,
  ec2ErrorXml,
  ec2ResponseXml,
} from './xml.ts';

/** The largest request body accepted (AWS's own Query limit is of this order). */
const MAX_BODY_BYTES = 1 << 20;
/** The Query protocols take their parameters from a GET's query or a POST's form body. */
const QUERY_METHODS = ['GET', 'POST'] as const;
/** Path prefix of the Auto Scaling endpoint; requests with `Version=2011-01-01` reach it on any path too. */
export const AUTOSCALING_PATH = '/autoscaling';
/** Liveness probe of the twin (not an AWS API), for `twin status` and wait strategies. */
export const HEALTH_PATH = '/_twin/health';

export type Ec2Service = 'ec2' | 'autoscaling' | 'cloudwatch';

/** Path prefix of the CloudWatch endpoint; requests with `Version=2010-08-01` or a CloudWatch `X-Amz-Target` reach it on any path. */
export const CLOUDWATCH_PATH = '/cloudwatch';

/** One line per request, for whoever wants a log. */
export interface Ec2RequestLog {
  readonly service: Ec2Service;
  readonly action: string;
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly durationMs: number;
}

interface Ec2ApiOptions {
  host: string;
  port: number;
  state: Ec2State | undefined;
  stateOptions: Ec2StateOptions;
  onRequest: ((log: Ec2RequestLog) => void) | undefined;
}

/**
 * The twin's EC2 and Auto Scaling endpoints on one `node:http` server, speaking the Query protocols the AWS SDK
 * and the AWS CLI speak: form-encoded `Action=…&Version=…` in, XML in the AWS namespaces out, errors in the
 * AWS shapes. Signatures are required to be present (as AWS requires) but not checked.
 *
 * ```ts
 * await using ec2 = await new Ec2Api().withPort(0).withRegion('us-east-1').withClock(clock).start();
 * new EC2Client({ endpoint: ec2.url, region: 'us-east-1', credentials });
 * new AutoScalingClient({ endpoint: ec2.autoscalingUrl, region: 'us-east-1', credentials });
 * ```
 */
export class Ec2Api {
  private readonly options: Ec2ApiOptions = { host: '127.0.0.1', port: 0, state: undefined, stateOptions: {}, onRequest: undefined };

  /** 0 (the default) lets the OS pick a free port. */
  withPort(port: number): this {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bad port ${port}`);
    this.options.port = port;
    return this;
  }

  withHost(host: string): this {
    this.options.host = host;
    return this;
  }

  withRegion(region: string): this {
    this.options.stateOptions.region = region;
    return this;
  }

  withClock(clock: Clock): this {
    this.options.stateOptions.clock = clock;
    return this;
  }

  withSeed(seed: number): this {
    this.options.stateOptions.seed = seed;
    return this;
  }

  withAccountId(accountId: string): this {
    if (!/^\d{12}$/.test(accountId)) throw new RangeError(`an account id is 12 digits, got ${accountId}`);
    this.options.stateOptions.accountId = accountId;
    return this;
  }

  withTimings(timings: NonNullable<Ec2StateOptions['timings']>): this {
    this.options.stateOptions.timings = { ...this.options.stateOptions.timings, ...timings };
    return this;
  }

  withStateOptions(options: Ec2StateOptions): this {
    Object.assign(this.options.stateOptions, options);
    return this;
  }

  /** Serve an existing model (shared with a simulation, or pre-populated by a test) instead of a new one. */
  withState(state: Ec2State): this {
    this.options.state = state;
    return this;
  }

  onRequest(listener: (log: Ec2RequestLog) => void): this {
    this.options.onRequest = listener;
    return this;
  }

  async start(): Promise<StartedEc2Api> {
    const state = this.options.state ?? new Ec2State(this.options.stateOptions);
    const handler = new Ec2RequestHandler(state, this.options.onRequest);
    const routes = new HttpRoutes()
      .on(['GET', 'HEAD', 'POST'], HEALTH_PATH, (r) => sendJson(r.res, 200, { status: 'ok', service: 'ec2+autoscaling' }))
      .on(QUERY_METHODS, '/', (r) => handler.handle(r))
      .on(QUERY_METHODS, '/*', (r) => handler.handle(r));
    try {
      const server = await listenHttp({
        name: 'ec2',
        host: this.options.host,
        port: this.options.port,
        routes,
        maxBodyBytes: MAX_BODY_BYTES,
        // Only what the router refuses reaches here (a PUT, say): the handler words its own errors.
        errors: (error, request) => handler.errorAnswer(awsError(error), serviceOf(request.path), state.ids.uuid('request')),
      });
      return new StartedEc2Api(server, state, handler);
    } catch (e) {
      if (e instanceof HttpListenError) throw new ProviderError('START_FAILED', e.message, e.hint);
      throw e;
    }
  }
}

/** A running EC2 / Auto Scaling endpoint: where it listens, the model behind it, and how to stop it. */
export class StartedEc2Api implements StartedComponent {
  readonly name = 'ec2';
  readonly backend = 'embedded' as const;
  readonly backendDetail: string;
  readonly pid = undefined;
  readonly dataDir = undefined;

  constructor(
    private readonly server: ListeningHttp,
    readonly state: Ec2State,
    private readonly handler: Ec2RequestHandler,
  ) {
    this.backendDetail = `the twin's EC2 ${EC2_VERSION}, Auto Scaling ${AUTOSCALING_VERSION} and CloudWatch ${CLOUDWATCH_VERSION} endpoints in this process (no container runtime needed)`;
  }

  get host(): string {
    return this.server.host;
  }

  get port(): number {
    return this.server.port;
  }

  /** The EC2 endpoint (`AWS_ENDPOINT_URL` / the EC2 client's `endpoint`). Auto Scaling requests are served here too. */
  get url(): string {
    return this.server.url;
  }

  /** A separate endpoint URL for the Auto Scaling client. */
  get autoscalingUrl(): string {
    return `${this.url}${AUTOSCALING_PATH}`;
  }

  /** A separate endpoint URL for the CloudWatch client (`AWS_ENDPOINT_URL` serves it too). */
  get cloudwatchUrl(): string {
    return `${this.url}${CLOUDWATCH_PATH}`;
  }

  /** Requests served so far, per `service:Action`. */
  get requestCounts(): ReadonlyMap<string, number> {
    return this.handler.counts;
  }

  stop(): Promise<void> {
    return this.server.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Has the request any AWS authentication: a SigV4/SigV2 Authorization header, or presigned query parameters? */
export function hasAwsAuth(headers: IncomingMessage['headers'], params: QueryParams): boolean {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.trim() !== '') return true;
  return ['X-Amz-Signature', 'X-Amz-Credential', 'Signature'].some((k) => (params.str(k) ?? '') !== '');
}

class Ec2RequestHandler {
  readonly counts = new Map<string, number>();

  constructor(
    private readonly state: Ec2State,
    private readonly onRequest: ((log: Ec2RequestLog) => void) | undefined,
  ) {}

  async handle(request: HttpRequest): Promise<void> {
    const started = performance.now();
    const requestId = this.state.ids.uuid('request');
    let service = serviceOf(request.path);
    let action = '';
    let status = 200;
    let errorCode: string | undefined;
    let body: string;
    let json = false;
    try {
      const raw = request.method === 'POST' ? await request.text() : '';
      const target = request.req.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith(CLOUDWATCH_TARGET_PREFIX)) {
        // AWS JSON 1.0, as the AWS SDK v3 and botocore speak to CloudWatch.
        service = 'cloudwatch';
        json = true;
        action = target.slice(CLOUDWATCH_TARGET_PREFIX.length);
        if (!hasAwsAuth(request.req.headers, QueryParams.parse('', 'member'))) throw new AwsApiError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
        body = outputToJson(runCloudWatchAction(action, parseJsonInput(raw), this.state));
        return;
      }
      if (request.req.headers['smithy-protocol'] === 'rpc-v2-cbor') {
        throw new AwsApiError('UnsupportedProtocol', "The twin's CloudWatch speaks AWS JSON 1.0 (X-Amz-Target) and the Query protocol, not Smithy RPC v2 CBOR: use an SDK or CLI that sends JSON (AWS SDK v3, botocore 1.3x and later do).", 415);
      }
      const query = request.query.toString();
      const merged = [query, raw].filter((s) => s !== '').join('&');
      let params = QueryParams.parse(merged, 'ec2');
      if (params.str('Version') === AUTOSCALING_VERSION) service = 'autoscaling';
      if (params.str('Version') === CLOUDWATCH_VERSION) service = 'cloudwatch';
      if (service === 'autoscaling') params = params.withStyle('member');
      action = params.str('Action') ?? '';
      if (!hasAwsAuth(request.req.headers, params)) {
        throw new AwsApiError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
      }
      if (action === '') throw params.missing('Action');
      if (service === 'ec2') {
        const version = params.str('Version');
        if (version === undefined || version === '') throw params.missing('Version');
        const handler = Object.hasOwn(EC2_ACTIONS, action) ? EC2_ACTIONS[action] : undefined;
        if (handler === undefined) throw new AwsApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
        if (params.bool('DryRun') === true) {
          throw new AwsApiError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
        }
        this.state.sync();
        const namespace = /^\d{4}-\d{2}-\d{2}$/.test(version) ? `http://ec2.amazonaws.com/doc/${version}/` : EC2_NAMESPACE;
        body = ec2ResponseXml(action, requestId, handler(params, this.state), namespace);
      } else if (service === 'cloudwatch') {
        const out = runCloudWatchAction(action, queryToInput(params.entries()), this.state);
        body = autoScalingResponseXml(action, requestId, Object.keys(out).length === 0 ? undefined : outputToXmlNode(out), CLOUDWATCH_NAMESPACE);
      } else {
        const handler = Object.hasOwn(AUTOSCALING_ACTIONS, action) ? AUTOSCALING_ACTIONS[action] : undefined;
        if (handler === undefined) throw new AwsApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
        this.state.sync();
        body = autoScalingResponseXml(action, requestId, handler(params, this.state));
      }
    } catch (e) {
      if (!(e instanceof HttpError)) {
        // A bug in the twin, not a bad request: keep the stack where a developer will see it.
        console.error(`ec2 twin: ${service}:${action} failed:`, e);
      }
      const error = e instanceof HttpError ? awsError(e) : new AwsApiError('InternalError', 'An internal error has occurred', 500);
      status = error.status;
      errorCode = error.code;
      body = json ? JSON.stringify({ __type: cloudWatchErrorShape(error.code), message: error.message }) : this.errorAnswer(error, service, requestId).body;
    } finally {
      const key = `${service}:${action || '(none)'}`;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      const headers: Record<string, string> = { 'x-amzn-requestid': requestId };
      // A 413 leaves the rest of the body unread: the connection cannot be reused.
      if (status === 413) headers.connection = 'close';
      // The JSON protocol's errors carry the Query code too (CloudWatch is awsQueryCompatible).
      if (json && errorCode !== undefined) headers['x-amzn-query-error'] = `${errorCode};${status >= 500 ? 'Receiver' : 'Sender'}`;
      sendText(request.res, status, body!, json ? JSON_TYPE : XML_TYPE, headers);
      this.onRequest?.({ service, action, status, errorCode, durationMs: performance.now() - started });
    }
  }

  /** An error in the service's own XML: `<Response><Errors>…` for EC2, `<ErrorResponse>…` for Auto Scaling. */
  errorAnswer(error: AwsApiError, service: Ec2Service, requestId: string): ErrorAnswer {
    const body = service === 'ec2' ? ec2ErrorXml(error, requestId) : autoScalingErrorXml(error, requestId, service === 'cloudwatch' ? CLOUDWATCH_NAMESPACE : undefined);
    return { contentType: XML_TYPE, body };
  }
}

const XML_TYPE = 'text/xml;charset=UTF-8';
const JSON_TYPE = 'application/x-amz-json-1.0';

/** A JSON protocol body: an object (an empty body is an empty request). */
function parseJsonInput(raw: string): CwInput {
  if (raw.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new AwsApiError('SerializationException', `The request body is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AwsApiError('SerializationException', 'The request body must be a JSON object.');
  return v as CwInput;
}

function serviceOf(path: string): Ec2Service {
  return path.startsWith(AUTOSCALING_PATH) ? 'autoscaling' : path.startsWith(CLOUDWATCH_PATH) ? 'cloudwatch' : 'ec2';
}

/** The layer's errors (a body too large, a method the Query protocol has not) in AWS's words. */
function awsError(error: HttpError): AwsApiError {
  if (error instanceof AwsApiError) return error;
  const code = error.code === LAYER_ERROR_CODES.tooLarge ? 'RequestEntityTooLarge' : error.code === LAYER_ERROR_CODES.methodNotAllowed ? 'InvalidHttpRequest' : 'InvalidRequest';
  return new AwsApiError(code, error.message, error.status);
}
