import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface RunningService {
  url: string;
  /** the address it is bound to (a host name resolved) */
  address: AddressInfo;
  /** stops taking connections, lets requests in flight finish */
  close(): Promise<void>;
}

/**
 * Serves a Hono app (the HR intake, the codec server) on Node's HTTP server, hardened the same way: a client that
 * trickles its headers or body is cut off (a handler's own timeout starts only after them), and beyond 1,024
 * connections new ones wait in the kernel's backlog, so one client cannot take every socket.
 */
export async function serveApp(
  app: Pick<Hono, 'fetch'>,
  listen: { port: number; host: string },
): Promise<RunningService> {
  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port: listen.port, hostname: listen.host }, () =>
      resolve(started as Server),
    );
    started.once('error', reject);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.maxConnections = 1_024;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive connections would hold close() open; busy ones finish their request first.
        server.closeIdleConnections();
      }),
  };
}
