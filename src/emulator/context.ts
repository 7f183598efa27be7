import { fail, text } from './reply.js';
import type { Controllers } from './controllers.js';
import type { ClusterInfo, Meta, State } from './state.js';

/** Everything a route handler gets: the parsed request and the emulator's model. */
export interface RequestContext {
  method: string;
  /** cluster selected by a `/clusters/{c}` prefix; `host` without one */
  cluster: string;
  params: Record<string, string>;
  query: URLSearchParams;
  rawBody: string;
  contentType: string | undefined;
  user: string;
  isAdmin: boolean;
  state: State;
  controllers: Controllers;
  clusters: ClusterInfo[];
}

/**
 * go-restful's ReadEntity followed by encoding/json: content type first, then syntax, then the Go
 * type of the top level (the only type errors a handler can meet before its own checks).
 */
export function readJson(ctx: RequestContext, goType: string, shape: 'object' | 'array'): unknown {
  const contentType = ctx.contentType ?? '';
  if (!contentType.includes('application/json')) {
    fail(text(400, `[ServiceError:400] Unable to unmarshal content of type:${contentType}`));
  }
  if (ctx.rawBody.trim() === '') fail(text(400, 'EOF'));
  let value: unknown;
  try {
    value = JSON.parse(ctx.rawBody);
  } catch {
    const first = ctx.rawBody.trim()[0] ?? '';
    fail(text(400, `invalid character '${first}' looking for beginning of value`));
  }
  const actual = goKind(value);
  const wanted = shape === 'array' ? 'array' : 'object';
  if (actual !== wanted && actual !== 'null')
    fail(text(400, `json: cannot unmarshal ${actual} into Go value of type ${goType}`));
  return value ?? (shape === 'array' ? [] : {});
}

/** Checks that a nested field has the Go type it is decoded into. */
export function stringField(value: unknown, path: string, goStruct: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    fail(text(400, `json: cannot unmarshal ${goKind(value)} into Go struct field ${goStruct}.${path} of type string`));
  return value;
}

export function stringMapField(value: unknown, path: string, goStruct: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (goKind(value) !== 'object') {
    fail(
      text(
        400,
        `json: cannot unmarshal ${goKind(value)} into Go struct field ${goStruct}.${path} of type map[string]string`,
      ),
    );
  }
  for (const entry of Object.values(value as Record<string, unknown>)) {
    if (typeof entry !== 'string') {
      fail(
        text(400, `json: cannot unmarshal ${goKind(entry)} into Go struct field ${goStruct}.${path} of type string`),
      );
    }
  }
  return value as Record<string, string>;
}

function goKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  return typeof value; // 'object' | 'string' | 'number'
}

export function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** GET bodies come from the informer cache and carry their type (§1.6); write echoes do not. */
export function withType<T extends { metadata: Meta }>(apiVersion: string, kind: string, object: T) {
  return { apiVersion, kind, ...object };
}
