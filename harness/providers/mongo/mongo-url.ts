import { redactUrl } from '../service-url.ts';
import { ProviderError } from '../types.ts';

/** An external MongoDB, validated (one or more hosts, or a `mongodb+srv` name). */
export interface MongoUrl {
  readonly hosts: readonly { readonly host: string; readonly port: number }[];
  readonly srv: boolean;
  /** The database the URL names, if any. */
  readonly database: string | undefined;
  readonly redacted: string;
  readonly raw: string;
}

export const MONGO_URL_EXAMPLE = 'mongodb://circle:secret@mongo.internal:27017/circle';

/**
 * Parses `mongodb://[user:password@]host[:port][,host[:port]...]/[database][?options]` or `mongodb+srv://name/...`,
 * naming what is wrong. (Not through `URL`: a MongoDB seed list is not a valid URL authority.)
 */
export function parseMongoUrl(raw: string): MongoUrl {
  const text = raw.trim();
  const redacted = redactUrl(text);
  const fail = (what: string): never => {
    throw new ProviderError('BAD_URL', `mongo: URL '${redacted}' ${what}`, `expected a URL like ${MONGO_URL_EXAMPLE}`);
  };
  if (text === '') fail('is empty');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) fail("has no scheme: it must start with mongodb:// or mongodb+srv://");
  if (scheme !== 'mongodb' && scheme !== 'mongodb+srv') fail(`has scheme '${scheme}', expected 'mongodb' or 'mongodb+srv'`);
  const srv = scheme === 'mongodb+srv';
  const rest = text.slice(scheme!.length + 3);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const after = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const hostList = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostList === '') fail('has no host');
  const hosts = hostList.split(',').map((entry) => {
    const m = /^(\[[^\]]+\]|[^:]*)(?::(.*))?$/.exec(entry);
    const host = (m?.[1] ?? '').replace(/^\[(.*)\]$/, '$1');
    const portText = m?.[2];
    if (host === '') fail(`has an empty host in '${hostList}'`);
    if (portText !== undefined) {
      if (srv) fail('gives a port, which mongodb+srv:// does not allow (the SRV record names the ports)');
      if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65_535) fail(`has port '${portText}', which is not a number between 1 and 65535`);
    }
    return { host, port: portText === undefined ? 27017 : Number(portText) };
  });
  if (srv && hosts.length !== 1) fail('lists several hosts, which mongodb+srv:// does not allow');
  const path = /^\/([^?#]*)/.exec(after)?.[1] ?? '';
  let database: string | undefined;
  if (path !== '') {
    try {
      database = decodeURIComponent(path);
    } catch {
      fail(`has a database '${path}' that is not valid percent-encoding`);
    }
    if (/[/\\. "$]/.test(database!)) fail(`has database '${database}': names cannot contain / \\ . " $ or spaces`);
  }
  return { hosts, srv, database, redacted, raw: text };
}
