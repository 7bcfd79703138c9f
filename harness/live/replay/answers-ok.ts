/**
 * The live replay's probe of an HTTP endpoint (nomad-metrics' poll of the Nomad server's leader, the UI's page
 * requests): whether a GET answers 2xx within a time limit. It never rejects: a refusal, a reset, a timeout before
 * the headers and a timeout while the body is read (a slow or blackholed server: the limit's TimeoutError reaches
 * the body read) are all `false`, so a poll that gets no whole answer is counted as a failed poll.
 */

/** Whether a GET of `url` answers 2xx, its body read (so the connection is reused), within `timeoutMs`. */
export function answersOk(url: string, timeoutMs: number): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    .then(async (r) => {
      await r.text();
      return r.ok;
    })
    .catch(() => false);
}
