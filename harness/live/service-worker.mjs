// One twin service of the live stack, in its own worker thread (separately killable: the stack terminates the
// worker). Plain JavaScript so it runs without the TypeScript loader. It listens on the container's port and
// answers its documented health endpoint: 200 when every dependency answers, 500 naming those that do not, as
// "Health of Service" describes ("200 indicates basic health, 500 indicates bad configuration").
import { parentPort, workerData } from 'node:worker_threads';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';

const { name, port, healthPath, dependencies } = workerData;
let paused = false;
const held = [];

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

async function answer(req, res) {
  if (req.url === healthPath || req.url === `${healthPath}/`) {
    const results = await Promise.all(dependencies.map(probe));
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
server.on('error', (e) => parentPort?.postMessage({ type: 'error', message: e.message }));
server.listen(port, '127.0.0.1', () => parentPort?.postMessage({ type: 'listening', port }));
parentPort?.on('message', (m) => {
  if (m === 'pause') paused = true;
  else if (m === 'unpause') {
    paused = false;
    for (const h of held.splice(0)) h();
  } else if (m === 'stop') server.close(() => process.exit(0));
});
