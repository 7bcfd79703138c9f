import { ProviderError } from './types.ts';

/** What a component accepts as an external URL. */
export interface ServiceUrlSpec {
  /** `postgres`, `redis`, … (named in every error). */
  readonly component: string;
  /** Accepted schemes without the colon, the first being the canonical one (`postgres`, `postgresql`). */
  readonly schemes: readonly string[];
  readonly defaultPort: number;
  /** A well-formed example, shown in the hint. */
  readonly example: string;
}

/** A validated URL: decoded parts, with the password never shown in `redacted`. */
export interface ParsedServiceUrl {
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** The decoded path without its leading slash (a database name, a vhost, a Redis db number). */
  readonly path: string;
  /** The same, still percent-encoded (`%2F` is a vhost named `/`, a bare `/` separates segments). */
  readonly rawPath: string;
  readonly params: URLSearchParams;
  /** The URL as given, password replaced by `***`: safe for logs and errors. */
  readonly redacted: string;
}

/**
 * Parses and validates a service URL, naming exactly what is wrong (scheme, host, port, ...) in a BAD_URL error
 * whose hint shows a well-formed example. Passwords never appear in messages.
 */
export function parseServiceUrl(raw: string, spec: ServiceUrlSpec): ParsedServiceUrl {
  const redacted = redactUrl(raw);
  const fail = (what: string): never => {
    throw new ProviderError('BAD_URL', `${spec.component}: URL '${redacted}' ${what}`, `expected a URL like ${spec.example}`);
  };
  const text = raw.trim();
  if (text === '') fail('is empty');
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
  if (!schemeMatch) fail(`has no scheme: it must start with ${spec.schemes.map((s) => `${s}://`).join(' or ')}`);
  const scheme = schemeMatch![1]!.toLowerCase();
  if (!spec.schemes.includes(scheme)) fail(`has scheme '${scheme}', expected ${spec.schemes.map((s) => `'${s}'`).join(' or ')}`);

  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(text)?.[1] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostPort === '' || hostPort.startsWith(':')) fail('has no host');
  const portText = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort)?.[1];
  if (portText !== undefined && portText !== '' && !isPort(portText)) fail(`has port '${portText}', which is not a number between 1 and 65535`);

  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    return fail(`is not a valid URL (${err instanceof Error ? err.message : String(err)})`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') fail('has no host');
  let path: string;
  try {
    path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    return fail(`has a path '${url.pathname}' that is not valid percent-encoding`);
  }
  return {
    scheme,
    host,
    port: url.port === '' ? spec.defaultPort : Number(url.port),
    username: safeDecode(url.username),
    password: safeDecode(url.password),
    path,
    rawPath: url.pathname.replace(/^\//, ''),
    params: url.searchParams,
    redacted,
  };
}

/** The URL with its password replaced by `***` (for logs, errors and `backendDetail`). */
export function redactUrl(raw: string): string {
  return raw.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/, '$1:***@');
}

function isPort(text: string): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65_535;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
