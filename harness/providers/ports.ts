import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1, as the OS assigns it (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port assigned'));
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

/** Several distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < n && tries < n * 20; tries++) ports.add(await freePort());
  if (ports.size < n) throw new Error(`could not find ${n} free ports`);
  return [...ports];
}
