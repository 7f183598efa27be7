import { serveApp, type RunningService } from '../http-service.js';
import { timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { timeout } from 'hono/timeout';
import type { Logger } from 'pino';
import { MAX_DELIVERY_BODY } from '../policy/requests.js';
import { receiveConnectionTest, receiveDelivery, type DeliveryAnswer, type DeliveryDeps } from './deliveries.js';
import { deliveryLabel, safeId, type DeliveryLabel } from './delivery-label.js';
import type { Delivery, HrVendor } from './hire-event.js';
import { onboardingStatus, scrubEmails } from './status.js';
import { adapterFor } from './vendors/index.js';
import { isBobConnectionTest } from './vendors/hibob.js';
import { createIntakeMetrics, type IntakeMetrics } from '../metrics/intake-metrics.js';

export interface IntakeOptions extends DeliveryDeps {
  /** the bearer token of the status endpoint; without one it answers 401 */
  token?: string;
  /** how the answer's status URLs start (KS_ONBOARD_INTAKE_PUBLIC_URL) */
  publicUrl?: string;
  /** whether Temporal answers, for /readyz */
  ready?: () => Promise<boolean>;
  /** deliveries counted and timed for /metrics (default: a registry of the app's own) */
  metrics?: IntakeMetrics;
}

/** The vendors' paths: `generic` is the Standard Webhooks format. */
const PATHS: Record<string, HrVendor> = { events: 'generic', bamboohr: 'bamboohr', hibob: 'hibob' };
/**
 * The status of a delivery taken (202 elsewhere): Bob treats any answer but 200 as a failed delivery (its retry
 * policy: "We expect the webhook endpoint's queue to always respond with a 200 (OK) status"), and retries it.
 */
const ACCEPTED: Record<HrVendor, 200 | 202> = { generic: 202, bamboohr: 202, hibob: 200 };
const SECRET_VARIABLE: Record<HrVendor, string> = {
  generic: 'KS_ONBOARD_WEBHOOK_SECRETS',
  bamboohr: 'KS_ONBOARD_BAMBOOHR_SECRETS',
  hibob: 'KS_ONBOARD_HIBOB_SECRETS',
};
/** A request that takes longer is answered 503 (the delivery will come again: vendors retry). */
const REQUEST_TIMEOUT_MS = 10_000;

/** The HR intake's HTTP API (Hono): deliveries in, status out, health for the orchestrator. */
export function createIntakeApp(options: IntakeOptions): Hono {
  const { log } = options;
  const metrics = options.metrics ?? createIntakeMetrics();
  const app = new Hono();
  // Outermost, so a refusal, a timeout and an error are counted too, as answered.
  app.use('/v1/hr/:vendor', async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const started = performance.now();
    await next();
    metrics.delivery(vendorAt(c.req.param('vendor')) ?? 'unknown', c.res.status, (performance.now() - started) / 1000);
  });
  app.use(
    '*',
    timeout(
      REQUEST_TIMEOUT_MS,
      () => new HTTPException(503, { message: 'the request took too long: deliver again later' }),
    ),
  );

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Prometheus text format (docs/observability.md); expose only /v1/hr/* to the HR vendors, not this.
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );
  app.get('/readyz', async (c) => {
    const ready = options.ready ? await options.ready().catch(() => false) : true;
    return c.json({ status: ready ? 'ready' : 'Temporal is not reachable' }, ready ? 200 : 503);
  });

  app.post(
    '/v1/hr/:vendor',
    bodyLimit({
      maxSize: MAX_DELIVERY_BODY,
      // The body is not read past the limit: only a delivery id in a header can name it.
      onError: (c) => {
        const vendor = vendorAt(c.req.param('vendor'));
        const label = deliveryLabel(vendor, headersOf(c, vendor));
        return refuse(c, log, 413, `the body is larger than ${MAX_DELIVERY_BODY} bytes`, vendor, label);
      },
    }),
    async (c) => {
      const vendor = vendorAt(c.req.param('vendor'));
      if (!vendor)
        return refuse(
          c,
          log,
          404,
          `no HR vendor at this path: POST /v1/hr/{${Object.keys(PATHS).join(',')}}`,
          undefined,
          deliveryLabel(undefined, headersOf(c, undefined)),
        );
      const delivery: Delivery = { headers: headersOf(c, vendor), body: await c.req.text() };
      const label = deliveryLabel(vendor, delivery.headers, delivery.body);
      if (!options.hr.vendors.secrets[vendor].length)
        return refuse(
          c,
          log,
          404,
          `${vendor} deliveries are not taken here: no secret is configured for it (${SECRET_VARIABLE[vendor]})`,
          vendor,
          label,
        );
      const started = performance.now();
      let answer: DeliveryAnswer;
      let failure: ReturnType<typeof describe> | undefined;
      if (vendor === 'hibob' && isBobConnectionTest(delivery.body)) {
        // Before the content type: Bob's first test is plain text.
        answer = receiveConnectionTest(options, delivery);
      } else {
        const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/json')
          return refuse(
            c,
            log,
            415,
            `the body must be application/json, not ${JSON.stringify(type || 'nothing')}`,
            vendor,
            label,
          );
        answer = await receiveDelivery(options, vendor, delivery).catch((error: unknown) => {
          failure = describe(error);
          return { status: 503, body: { error: 'Temporal is not reachable right now: deliver again later' } };
        });
      }
      const body: Record<string, unknown> = { ...answer.body };
      if (typeof body.statusUrl === 'string' && options.publicUrl)
        body.statusUrl = `${options.publicUrl}${body.statusUrl}`;
      const status = answer.status === 202 ? ACCEPTED[vendor] : answer.status;
      const ms = Math.round(performance.now() - started);
      logDelivery(log, { vendor, ...label, status, ms, ...(failure ? { err: failure } : {}) }, body);
      return c.json(body, status);
    },
  );

  app.get('/v1/onboardings/:workflowId', async (c) => {
    const bearer = bearerOf(c.req.header('authorization'));
    if (!options.token || !sameSecret(bearer, options.token))
      return c.json(
        {
          error: !options.token
            ? 'the status endpoint is off: KS_ONBOARD_INTAKE_TOKEN is not set'
            : bearer
              ? 'the bearer token is not valid'
              : 'a bearer token is required (Authorization: Bearer <KS_ONBOARD_INTAKE_TOKEN>)',
        },
        401,
        { 'WWW-Authenticate': 'Bearer' },
      );
    const status = await onboardingStatus(options.client, options.prefix, c.req.param('workflowId'));
    if (!status) return c.json({ error: 'no such onboarding' }, 404);
    return c.json(status);
  });

  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      log.warn({ path: new URL(c.req.url).pathname, status: error.status, reason: error.message }, 'HR intake request');
      return c.json({ error: error.message }, error.status);
    }
    log.error({ err: describe(error) }, 'HR intake request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

/** The vendor of a path's last segment (own keys only: `/v1/hr/constructor` is no vendor). */
function vendorAt(segment: string | undefined): HrVendor | undefined {
  return segment !== undefined && Object.hasOwn(PATHS, segment) ? PATHS[segment] : undefined;
}

/** The headers a vendor's scheme reads (kept with the delivery, for the worker), each at most 4 KiB. */
function headersOf(c: Context, vendor: HrVendor | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of vendor ? adapterFor(vendor).headers : ['webhook-id']) {
    const value = c.req.header(name);
    if (value !== undefined) headers[name] = value.slice(0, 4096);
  }
  return headers;
}

function refuse(
  c: Context,
  log: Logger,
  status: 404 | 413 | 415,
  error: string,
  vendor: HrVendor | undefined,
  label: DeliveryLabel,
) {
  logDelivery(log, { vendor: vendor ?? safeId(c.req.param('vendor')), ...label, status }, { error });
  return c.json({ error }, status);
}

/**
 * One line per delivery, whatever its end: a refusal (4xx) at warn with its status and reason, an event that is
 * not a hire with `ignored: true` and its type, Bob's connection test as such; always the vendor and the
 * delivery's label (its id, or the body's digest), never a header value or the body.
 */
function logDelivery(log: Logger, fields: Record<string, unknown> & { status: number }, body: Record<string, unknown>) {
  const line = {
    ...fields,
    ...(typeof body.workflowId === 'string' ? { workflowId: body.workflowId } : {}),
    ...(typeof body.eventId === 'string' ? { eventId: body.eventId } : {}),
    ...(fields.status >= 400 && typeof body.error === 'string' ? { reason: scrubEmails(body.error) } : {}),
  };
  if (fields.status >= 500)
    log.error(line, 'HR delivery could not be handed to Temporal: the vendor delivers it again');
  else if (fields.status >= 400) log.warn(line, 'HR delivery refused');
  else if (body.duplicate === true) log.info(line, 'HR delivery: a duplicate, nothing started');
  else if (body.ignored === true)
    log.info({ ...line, ignored: true, eventType: body.type }, 'HR delivery ignored: not a hire');
  else if (body.connectionTest === true)
    log.info({ ...line, connectionTest: true, signed: body.signed }, 'HiBob connection test answered: nothing started');
  else log.info(line, 'HR delivery');
}

function bearerOf(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1] ?? '';
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function describe(error: unknown): { type: string; message: string } {
  return error instanceof Error
    ? { type: error.name, message: error.message }
    : { type: 'Error', message: String(error) };
}

export type RunningIntake = Pick<RunningService, 'url' | 'close'>;

/** Serves the intake; close() is the graceful shutdown (no new connections, in-flight requests finish). */
export async function startIntake(
  options: IntakeOptions,
  listen: { port: number; host: string },
): Promise<RunningIntake> {
  return serveApp(createIntakeApp(options), listen);
}

/** Temporal is reachable: for /readyz. */
export function temporalReady(client: Client): () => Promise<boolean> {
  return async () => {
    const check = client.workflowService.getSystemInfo({}).then(() => true);
    const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref());
    return Promise.race([check, timer]);
  };
}
