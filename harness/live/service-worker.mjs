// One twin service of the live stack, in its own worker thread (separately killable: the stack terminates the
// worker). Plain JavaScript so it runs without the TypeScript loader. It listens on the container's port and
// answers its documented health endpoint: 200 when every dependency answers, 500 naming those that do not, as
// "Health of Service" describes ("200 indicates basic health, 500 indicates bad configuration").
import { parentPort, workerData } from 'node:worker_threads';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';

const { name, port, healthPath, role } = workerData;
let dependencies = workerData.dependencies;
let paused = false;
const held = [];

// Roles with a job beyond answering health checks (the rest only report their health):
// - telegraf: the statsd listener (UDP), aggregating what services send; GET /metrics shows the last values;
// - nomad-metrics: polls the Nomad API every 10 s and sends circle.nomad.server_agent.* gauges to telegraf, and
//   for each client circle.nomad.client_agent.* with DogStatsD tags (telegraf keys those as `name#tags`);
// - ready-agent: 200 only once every listed service answers 200 (its list is sent after boot);
// - ldap-bind (federation-service with `auth: ldap`): each health check makes a real LDAP simple bind (ldapts,
//   over TCP) with the directory's bind DN, so a dead or hung slapd is a 500 naming ldap, as logins would fail.
const metrics = new Map();
if (role?.kind === 'telegraf') {
  const udp = createSocket('udp4');
  udp.on('message', (buf) => {
    for (const line of buf.toString('utf8').split('\n')) {
      // DogStatsD: `name:value|type[|@rate][|#tag:v,...]`; a tagged series is kept apart as `name#tags`.
      const m = /^([^:|#]+):([-+]?[0-9.]+)\|(g|c|ms)(?:\|@[0-9.]+)?(?:\|#(\S+))?$/.exec(line.trim());
      if (!m) continue;
      const [, name, raw, type, tags] = m;
      const key = tags ? `${name}#${tags}` : name;
      const value = Number(raw);
      const prev = metrics.get(key);
      metrics.set(key, { type, value: type === 'c' ? (prev?.value ?? 0) + value : value, samples: (prev?.samples ?? 0) + 1 });
    }
  });
  udp.bind(role.udpPort, '127.0.0.1', () => parentPort?.postMessage({ type: 'udp', port: role.udpPort }));
}
if (role?.kind === 'nomad-metrics') {
  // Bound to loopback before the first send: an unbound socket would be bound to 0.0.0.0 by its first send.
  const udp = createSocket('udp4');
  const bound = new Promise((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const send = (lines) => void bound.then(() => udp.send(Buffer.from(lines.join('\n')), role.statsdPort, '127.0.0.1'));
  const poll = async () => {
    if (paused) return;
    try {
      const res = await fetch(`${role.nomadUrl}/v1/jobs`, { signal: AbortSignal.timeout(2000) });
      const jobs = await res.json();
      const count = (s) => jobs.filter((j) => j.Status === s).length;
      send([
        'circle.nomad.server_agent.poll_failure:0|g',
        `circle.nomad.server_agent.jobs.pending:${count('pending')}|g`,
        `circle.nomad.server_agent.jobs.running:${count('running')}|g`,
        `circle.nomad.server_agent.jobs.dead:${count('dead')}|g`,
      ]);
    } catch {
      send(['circle.nomad.server_agent.poll_failure:1|g']);
    }
  };
  // --client: each Nomad client's gauges (circle.nomad.client_agent.*, tagged drain, status and host), as every
  // client's own nomad-metrics sends them; the mapping is TypeScript shared with the simulation, so tsx's loader
  // is registered in this worker only (one statsd datagram per client).
  const clients = (async () => {
    const { register } = await import('tsx/esm/api');
    register();
    return import('../nomad/client-poll.ts');
  })();
  const known = new Set();
  const pollClients = async () => {
    if (paused) return;
    const { pollClientLines } = await clients;
    const lines = await pollClientLines(role.nomadUrl, known);
    for (let i = 0; i < lines.length; ) {
      const next = lines.findIndex((l, j) => j > i && l.startsWith('circle.nomad.client_agent.poll_failure:'));
      const end = next === -1 ? lines.length : next;
      send(lines.slice(i, end));
      i = end;
    }
  };
  const both = () => void Promise.all([poll(), pollClients().catch(() => undefined)]);
  both();
  setInterval(both, role.intervalMs ?? 10_000).unref();
}

/** Whether a dependency answers: an HTTP health URL (2xx) or a TCP port that accepts a connection. */
function probe(dep) {
  return new Promise((resolve) => {
    const done = (ok) => resolve({ name: dep.name, ok });
    if (dep.healthUrl) {
      const req = request(dep.healthUrl, { method: 'GET', timeout: 1000 }, (res) => {
        res.resume();
        done(res.statusCode !== undefined && res.statusCode < 300);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => done(false));
      req.end();
    } else if (dep.port) {
      const s = connect({ host: dep.host ?? '127.0.0.1', port: dep.port });
      const t = setTimeout(() => (s.destroy(), done(false)), 1000);
      s.once('connect', () => (clearTimeout(t), s.destroy(), done(true)));
      s.once('error', () => (clearTimeout(t), done(false)));
    } else done(true);
  });
}

/** How long the LDAP bind may take: below the 1 s the ready-agent gives a health check, so a hung slapd is a 500. */
const LDAP_BIND_TIMEOUT_MS = 750;

/** Whether the directory accepts federation-service's bind; ldapts is loaded only by the worker that needs it. */
async function probeLdap() {
  if (!role.ldapUrl) return { name: 'ldap', ok: false };
  const { Client } = await import('ldapts');
  const client = new Client({ url: role.ldapUrl, connectTimeout: LDAP_BIND_TIMEOUT_MS, timeout: LDAP_BIND_TIMEOUT_MS });
  try {
    await client.bind(role.bindDn, role.bindPassword);
    return { name: 'ldap', ok: true };
  } catch {
    return { name: 'ldap', ok: false };
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function answer(req, res) {
  if (role?.kind === 'telegraf' && req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(Object.fromEntries(metrics)));
    return;
  }
  if (req.url === healthPath || req.url === `${healthPath}/`) {
    const results = await Promise.all([...dependencies.map(probe), ...(role?.kind === 'ldap-bind' ? [probeLdap()] : [])]);
    const failing = results.filter((r) => !r.ok).map((r) => r.name);
    res.writeHead(failing.length === 0 ? 200 : 500, { 'content-type': 'application/json' });
    res.end(JSON.stringify(failing.length === 0 ? { service: name, status: 'ok' } : { service: name, status: 'unhealthy', failing }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message: 'Not Found' }));
}

const server = createServer((req, res) => {
  // A paused process (SIGSTOP) accepts connections but never answers.
  if (paused) held.push(() => answer(req, res));
  else void answer(req, res);
});
server.on('error', (e) => parentPort?.postMessage({ type: 'error', code: e.code, message: e.message }));
server.listen(port, '127.0.0.1', () => parentPort?.postMessage({ type: 'listening', port: server.address().port }));
parentPort?.on('message', (m) => {
  if (m === 'pause') paused = true;
  else if (m === 'unpause') {
    paused = false;
    for (const h of held.splice(0)) h();
  } else if (m === 'stop') server.close(() => process.exit(0));
  else if (m && typeof m === 'object' && m.type === 'dependencies') dependencies = m.dependencies;
});
