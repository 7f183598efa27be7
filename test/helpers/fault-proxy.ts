import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of the emulator that answers 500 to the requests `failing` picks, and passes every other
 * one on: KubeSphere down for one kind of call only (say workspaces), while logins and reads that verify the
 * requester go on working. The emulator's own faults hit every request alike.
 */
export async function startFaultProxy(target: string) {
  let failing: (method: string, path: string) => boolean = () => false;
  const failed: string[] = [];
  const upstream = new URL(target);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    if (failing(method, path)) {
      failed.push(`${method} ${path}`);
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal error occurred: injected by the test proxy');
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method, path, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Which requests fail from now on; `() => false` heals it. */
    fail(pick: (method: string, path: string) => boolean) {
      failing = pick;
    },
    /** The requests answered 500 so far. */
    failed: () => [...failed],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
