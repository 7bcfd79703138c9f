import { parseServiceUrl, type ParsedServiceUrl } from '../service-url.ts';
import { ProviderError } from '../types.ts';

/** An external S3 endpoint (LocalStack, MinIO, a twin's s3rver), validated. */
export interface S3Url {
  /** `scheme://host:port`, as the SDK's `endpoint` wants it: no credentials, no path. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** The bucket the URL names (`http://host:4566/circleci`), if any. */
  readonly bucket: string | undefined;
  /** `?region=`, if given. */
  readonly region: string | undefined;
  /** `http://KEY:SECRET@host`: static credentials, if given. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  readonly redacted: string;
}

export const S3_URL_EXAMPLE = 'http://test:test@127.0.0.1:4566/circleci?region=us-east-1';

/** The query parameters an S3 URL may carry. */
const KNOWN_PARAMS = new Set(['region']);

/**
 * Parses `http(s)://[accessKey:secret@]host[:port][/bucket][?region=…]`, naming what is wrong in a BAD_URL error.
 * A plain `AWS_ENDPOINT_URL` (`http://127.0.0.1:4566`) is the common case: endpoint only.
 */
export function parseS3Url(raw: string): S3Url {
  const u = parseHttpUrl(raw, 's3', S3_URL_EXAMPLE);
  const bad = (what: string): never => {
    throw new ProviderError('BAD_URL', `s3: URL '${u.redacted}' ${what}`, `expected an endpoint like ${S3_URL_EXAMPLE} (bucket, credentials and region optional)`);
  };
  if (u.path.includes('/')) bad(`has path '/${u.path}': expected at most a bucket name`);
  const problem = u.path === '' ? undefined : bucketNameProblem(u.path);
  if (problem !== undefined) bad(`names bucket '${u.path}', which ${problem}`);
  for (const name of u.params.keys()) if (!KNOWN_PARAMS.has(name)) bad(`has parameter '${name}': only ${[...KNOWN_PARAMS].join(', ')} is understood`);
  const region = u.params.get('region') ?? undefined;
  if (region !== undefined && !/^[a-z0-9-]+$/.test(region)) bad(`has region '${region}', expected something like us-east-1`);
  if (u.username !== '' && u.password === '') bad('gives an access key but no secret (http://KEY:SECRET@host)');
  if (u.username === '' && u.password !== '') bad('gives a secret but no access key (http://KEY:SECRET@host)');
  return {
    endpoint: u.origin,
    host: u.host,
    port: u.port,
    bucket: u.path === '' ? undefined : u.path,
    region,
    credentials: u.username !== '' ? { accessKeyId: u.username, secretAccessKey: u.password } : undefined,
    redacted: u.redacted,
  };
}

/** An http(s) URL validated by `parseServiceUrl`, with the scheme's default port and `scheme://host:port`. */
export interface HttpUrl extends ParsedServiceUrl {
  readonly origin: string;
}

/** Parses an `http://` or `https://` URL of a component, naming what is wrong in a BAD_URL error. */
export function parseHttpUrl(raw: string, component: string, example: string): HttpUrl {
  // Port 0 stands for "none given": parseServiceUrl never accepts 0 from a URL, and the default depends on the scheme.
  const u = parseServiceUrl(raw, { component, schemes: ['http', 'https'], defaultPort: 0, example });
  const port = u.port !== 0 ? u.port : u.scheme === 'https' ? 443 : 80;
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  return { ...u, port, origin: `${u.scheme}://${host}:${port}` };
}

/**
 * The S3 endpoint the environment names: `TWIN_S3_URL` (the twin's own, may carry a bucket), else
 * `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL` (LocalStack serves every service on one endpoint).
 */
export function s3UrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of ['TWIN_S3_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL']) {
    const v = env[name]?.trim();
    if (v) return v;
  }
  return undefined;
}

/** Why a bucket name breaks S3's naming rules, or undefined when it is fine. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `has ${name.length} characters (3 to 63 allowed)`;
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may only hold lowercase letters, digits, dots and hyphens';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must start and end with a letter or digit';
  if (name.includes('..')) return 'must not hold two dots in a row';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not look like an IP address';
  return undefined;
}
