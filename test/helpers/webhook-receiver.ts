import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  /** the body as sent, to look for what must never be in it */
  raw: string;
}

/**
 * A notification receiver as a chat bridge would run one: it verifies each delivery's Standard Webhooks signature
 * (a delivery that does not verify is answered 401 and not recorded) and keeps what it got.
 */
export async function startReceiver(secret: string) {
  const webhook = new Webhook(secret);
  const received: Received[] = [];
  const refused: string[] = [];
  let down = false;
  let unavailable = 0;
  const server = createServer((req, res) => {
    if (down) {
      unavailable++;
      req.resume();
      res.writeHead(503).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        const body = webhook.verify(raw, headersOf(req.headers)) as { type: string; data: Record<string, unknown> };
        received.push({ id: String(req.headers['webhook-id']), type: body.type, data: body.data, raw });
        res.writeHead(204).end();
      } catch (error) {
        refused.push((error as Error).message);
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/ks-onboard`,
    received,
    refused,
    /** a receiver that is down answers 503 to everything */
    setDown: (value: boolean) => {
      down = value;
    },
    unavailableAnswers: () => unavailable,
    of: (type: string, workflowId?: string) =>
      received.filter((r) => r.type === type && (!workflowId || r.data.workflowId === workflowId)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
}
