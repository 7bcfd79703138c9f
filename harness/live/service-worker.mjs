// The live stack's health-only twin services, all in ONE worker thread (harness/live/health-host.ts starts it):
// a thread each cost about 100 ms of CPU to start, 25 of them a quarter of an embedded boot. Each service still
// listens on its own port and answers its own documented health endpoint: 200 when every dependency answers, 500
// naming those that do not, as "Health of Service" describes ("200 indicates basic health, 500 indicates bad
// configuration"). Each is killed (its listener closed and its sockets destroyed at once, nothing answered) and
// paused (connections accepted, nothing answered until unpaused) alone. Plain JavaScript so it runs without the
// TypeScript loader; from the live bundle it is prebuilt (bin/build.mjs), client-poll.ts included.
import { parentPort } from 'node:worker_threads';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';

/** The running services by name. */
const services = new Map();

// Roles with a job beyond answering health checks (the rest only report their health):
// - telegraf: the statsd listener (UDP), aggregating what services send; GET /metrics shows the last values;
// - nomad-metrics: polls the Nomad API every 10 s and sends circle.nomad.server_agent.* gauges to telegraf, and
//   for each client circle.nomad.client_agent.* with DogStatsD tags (telegraf keys those as `name#tags`);
// - ready-agent: 200 only once every listed service answers 200 (its list is sent after boot);
// - logrotate (tutum/logrotate): tells the host of a rotation at once when it starts and then every `role.rotateMs`
//   (health-host.ts `onRotate`), and says so in its log every `role.lineMs`; a killed or hung logrotate rotates
//   nothing (the volume's rule reads its row: harness/train/live-disk.ts);
// - ldap-bind (federation-service with `auth: ldap`): each health check makes a real LDAP simple bind (ldapts,
//   over TCP) with the directory's bind DN, so a dead or hung slapd is a 500 naming ldap, as logins would fail.

/**
 * A line of the service's own log, by its key in sim/symptoms/log-lines.ts (the shapes are defined there once; the
 * host turns key and arguments into text); `reached` and `cannotReach` name a dependency.
 */
function log(svc, line, ...args) {
  if (svc.alive) parentPort.postMessage({ type: 'log', name: svc.name, line, args, atMs: Date.now() });
}

/** How often telegraf writes what it aggregated (the twin's choice, as the simulation's periodic lines: once a minute). */
const TELEGRAF_FLUSH_MS = 60_000;

/** Closes a UDP socket that may be closed already. */
function closeQuietly(udp) {
  try {
    udp.close();
  } catch {
    // ERR_SOCKET_DGRAM_NOT_RUNNING: closed after an error.
  }
}

/** telegraf's statsd listener: DogStatsD lines into `svc.metrics`. */
function startTelegraf(svc) {
  const udp = createSocket('udp4');
  svc.closers.push(() => closeQuietly(udp));
  // Its port taken: no statsd listener (the table shows the port it asked for); the other services run on.
  udp.once('error', () => closeQuietly(udp));
  // Every flush that had metrics to write says so; with nothing received (nomad-metrics down) it is silent.
  let received = 0;
  const flush = setInterval(() => {
    if (received > 0 && !svc.paused) log(svc, 'telegrafWrote');
    received = 0;
  }, TELEGRAF_FLUSH_MS);
  flush.unref();
  svc.closers.push(() => clearInterval(flush));
  // The series it writes: at each flush (every `role.seriesMs`), the names it got since the one before and the last
  // value of each gauge series (`name` or `name#tags`) got since then, posted to the host as its output
  // (harness/live/health-host.ts `gauges`: the stack's [[outputs.cloudwatch]] publishes them); a killed or hung
  // telegraf writes none, and a flush holds no value it did not receive since the one before.
  const names = new Set();
  const gauges = new Map();
  const series = setInterval(() => {
    if (svc.paused || !svc.alive) return;
    parentPort.postMessage({ type: 'gauges', name: svc.name, atMs: Date.now(), names: [...names], values: Object.fromEntries(gauges) });
    names.clear();
    gauges.clear();
  }, svc.role.seriesMs ?? TELEGRAF_FLUSH_MS);
  series.unref();
  svc.closers.push(() => clearInterval(series));
  udp.on('message', (buf) => {
    received++;
    for (const line of buf.toString('utf8').split('\n')) {
      // DogStatsD: `name:value|type[|@rate][|#tag:v,...]`; a tagged series is kept apart as `name#tags`.
      const m = /^([^:|#]+):([-+]?[0-9.]+)\|(g|c|ms)(?:\|@[0-9.]+)?(?:\|#(\S+))?$/.exec(line.trim());
      if (!m) continue;
      const [, name, raw, type, tags] = m;
      names.add(name);
      const key = tags ? `${name}#${tags}` : name;
      const value = Number(raw);
      if (type === 'g' && Number.isFinite(value)) gauges.set(key, value);
      const prev = svc.metrics.get(key);
      svc.metrics.set(key, { type, value: type === 'c' ? (prev?.value ?? 0) + value : value, samples: (prev?.samples ?? 0) + 1 });
    }
  });
  udp.bind(svc.role.udpPort, '127.0.0.1');
}

/** tutum/logrotate: asks the host to rotate every log now and every `rotateMs`, writing its line every `lineMs`. */
function startLogrotate(svc) {
  const rotate = () => {
    if (svc.paused || !svc.alive) return;
    parentPort.postMessage({ type: 'rotate', name: svc.name, atMs: Date.now() });
  };
  rotate();
  const timer = setInterval(rotate, svc.role.rotateMs);
  timer.unref();
  const line = setInterval(() => {
    if (!svc.paused) log(svc, 'logrotateRotated');
  }, svc.role.lineMs);
  line.unref();
  svc.closers.push(() => clearInterval(timer), () => clearInterval(line));
}

/** nomad-metrics: the Nomad API polled every interval, gauges sent to telegraf over UDP. */
function startNomadMetrics(svc) {
  const { role } = svc;
  // Bound to loopback before the first send: an unbound socket would be bound to 0.0.0.0 by its first send.
  const udp = createSocket('udp4');
  svc.closers.push(() => closeQuietly(udp));
  // A datagram that cannot be sent is lost, as statsd's are; it must not end the thread the other services share.
  udp.on('error', () => undefined);
  const bound = new Promise((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const send = (lines) => void bound.then(() => svc.alive && udp.send(Buffer.from(lines.join('\n')), role.statsdPort, '127.0.0.1'));
  const poll = async () => {
    if (svc.paused) return;
    try {
      const res = await fetch(`${role.nomadUrl}/v1/jobs`, { signal: AbortSignal.timeout(2000) });
      const jobs = await res.json();
      log(svc, 'reached', 'nomad_server');
      log(svc, 'nomadMetricsPolled');
      const count = (s) => jobs.filter((j) => j.Status === s).length;
      send([
        'circle.nomad.server_agent.poll_failure:0|g',
        `circle.nomad.server_agent.jobs.pending:${count('pending')}|g`,
        `circle.nomad.server_agent.jobs.running:${count('running')}|g`,
        `circle.nomad.server_agent.jobs.dead:${count('dead')}|g`,
      ]);
    } catch {
      log(svc, 'cannotReach', 'nomad_server');
      send(['circle.nomad.server_agent.poll_failure:1|g']);
    }
  };
  // --client: each Nomad client's gauges (circle.nomad.client_agent.*, tagged drain, status and host), as every
  // client's own nomad-metrics sends them (one statsd datagram per client).
  const known = new Set();
  const pollClients = async () => {
    if (svc.paused) return;
    const { pollClientLines } = await clientPoll();
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
  const timer = setInterval(both, role.intervalMs ?? 10_000);
  timer.unref();
  svc.closers.push(() => clearInterval(timer));
}

/**
 * The client gauges' mapping: TypeScript shared with the simulation. Bundled into the prebuilt module; from the
 * sources tsx's loader is registered in this thread, once, when nomad-metrics first polls.
 */
let clientPollModule;
function clientPoll() {
  clientPollModule ??= typeof TWIN_LIVE_ENTRIES !== 'undefined'
    ? import('../nomad/client-poll.ts')
    : import('tsx/esm/api').then(({ register }) => (register(), import('../nomad/client-poll.ts')));
  return clientPollModule;
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

/** Whether the directory accepts federation-service's bind; ldapts is loaded only when a service needs it. */
async function probeLdap(role) {
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

async function answer(svc, req, res) {
  const { role, healthPath } = svc;
  if (role?.kind === 'telegraf' && req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(Object.fromEntries(svc.metrics)));
    return;
  }
  // slanger: a build's status change from notifier, pushed to the open builds pages (its line in its log).
  if (svc.name === 'slanger' && req.method === 'POST' && req.url === '/apps/circleci/events') {
    let body = '';
    for await (const chunk of req) body = (body + chunk).slice(0, 4096);
    let event;
    try {
      event = JSON.parse(body);
    } catch {
      event = undefined;
    }
    if (typeof event?.slug === 'string' && typeof event?.fate === 'string') log(svc, 'livePushed', event.slug, event.fate);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
    return;
  }
  if (req.url === healthPath || req.url === `${healthPath}/`) {
    const results = await Promise.all([...svc.dependencies.map(probe), ...(role?.kind === 'ldap-bind' ? [probeLdap(role)] : [])]);
    if (!svc.alive) return;
    const failing = results.filter((r) => !r.ok).map((r) => r.name);
    // What it could not reach is in its log, as every CircleCI service says it; ready-agent logs its answer.
    if (svc.name === 'ready-agent') log(svc, 'readyAgent', failing);
    else for (const r of results) log(svc, r.ok ? 'reached' : 'cannotReach', r.name);
    res.writeHead(failing.length === 0 ? 200 : 500, { 'content-type': 'application/json' });
    res.end(JSON.stringify(failing.length === 0 ? { service: svc.name, status: 'ok' } : { service: svc.name, status: 'unhealthy', failing }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message: 'Not Found' }));
}

/** Starts one service; replies `listening` with its port, or `error` (the port taken: `EADDRINUSE`), having closed what it opened. */
function start({ name, port, healthPath, dependencies, role }) {
  const svc = { name, healthPath, dependencies, role, alive: true, paused: false, held: [], metrics: new Map(), sockets: new Set(), closers: [], server: undefined };
  const server = createServer((req, res) => {
    // A paused process (SIGSTOP) accepts connections but never answers.
    const reply = () => void answer(svc, req, res).catch(() => res.destroy());
    if (svc.paused) svc.held.push(reply);
    else reply();
  });
  svc.server = server;
  server.on('connection', (socket) => {
    svc.sockets.add(socket);
    socket.once('close', () => svc.sockets.delete(socket));
  });
  server.once('error', (e) => {
    svc.alive = false;
    parentPort.postMessage({ type: 'error', name, code: e.code, message: e.message });
  });
  const listening = () => {
    services.set(name, svc);
    log(svc, 'starting', name);
    if (role?.kind === 'telegraf') startTelegraf(svc);
    if (role?.kind === 'nomad-metrics') startNomadMetrics(svc);
    if (role?.kind === 'logrotate') startLogrotate(svc);
    parentPort.postMessage({ type: 'listening', name, port: server.address().port });
  };
  try {
    server.listen(port, '127.0.0.1', listening);
  } catch (e) {
    // A port out of range throws here rather than emitting: this service fails, the thread the others share runs on.
    svc.alive = false;
    parentPort.postMessage({ type: 'error', name, code: e.code, message: e.message });
  }
}

/** Abrupt, as a terminated thread: the listener closed, every connection destroyed, nothing held answered. */
function kill(name) {
  const svc = services.get(name);
  services.delete(name);
  if (svc !== undefined) {
    svc.alive = false;
    svc.held.length = 0;
    svc.server.close();
    for (const s of svc.sockets) s.destroy();
    for (const close of svc.closers) close();
  }
  parentPort.postMessage({ type: 'killed', name });
}

parentPort.on('message', (m) => {
  const svc = services.get(m.name);
  if (m.type === 'start') start(m);
  else if (m.type === 'kill') kill(m.name);
  else if (svc === undefined) return;
  else if (m.type === 'pause') svc.paused = true;
  else if (m.type === 'unpause') {
    svc.paused = false;
    for (const h of svc.held.splice(0)) h();
  } else if (m.type === 'dependencies') svc.dependencies = m.dependencies;
  // An unpaused logrotate rotates at once, as the process it stands for runs its overdue cron job.
  if (m.type === 'unpause' && svc.role?.kind === 'logrotate') parentPort.postMessage({ type: 'rotate', name: svc.name, atMs: Date.now() });
});
