import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Readiness = () => { ok: true } | { ok: false; reason: string };

/** Prometheus metrics in the text format (a prom-client Registry fits). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/**
 * `/healthz` (the process is up) and `/readyz` (it can do its work: e.g. KubeSphere has not rejected its
 * login). A worker whose login was rejected stays up but not ready, rather than crash-looping: every
 * restart would spend one more failed login towards KubeSphere's lockout. With `metrics`, `/metrics` too
 * (Prometheus text format; docs/observability.md).
 */
export async function startHealthServer(
  port: number,
  ready: Readiness,
  host = '0.0.0.0',
  options: { metrics?: MetricsSource } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') return reply(200, { ok: true });
    if (path === '/metrics' && options.metrics) {
      const source = options.metrics;
      source.metrics().then(
        (text) => res.writeHead(200, { 'content-type': source.contentType }).end(text),
        (error: unknown) => reply(500, { error: `metrics could not be collected: ${(error as Error).message}` }),
      );
      return;
    }
    if (path === '/readyz') {
      const state = ready();
      return reply(state.ok ? 200 : 503, state);
    }
    return reply(404, { error: 'not found' });
    function reply(status: number, body: unknown) {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
