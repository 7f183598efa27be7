import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/definitions.js';

const DEV_SERVER_TYPE: Record<string, string> = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList' };
const INDEXED_TYPE: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KEYWORD_LIST: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** `--search-attribute Name=Type` flags for `temporal server start-dev`. */
export function devServerSearchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTE_KEYS.flatMap((key) => ['--search-attribute', `${key.name}=${DEV_SERVER_TYPE[key.type]}`]);
}

/** Registers our search attributes on an existing cluster; those already there are left alone. */
export async function ensureSearchAttributes(
  connection: { operatorService: Connection['operatorService'] },
  namespace: string,
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = existing.customAttributes ?? {};
  for (const key of SEARCH_ATTRIBUTE_KEYS) {
    const type = custom[key.name];
    if (type !== undefined && type !== null && type !== INDEXED_TYPE[key.type])
      throw new Error(
        `search attribute ${key.name} is registered in namespace ${namespace} with another type than ${DEV_SERVER_TYPE[key.type]}; ` +
          'an attribute cannot change its type: on a dev server, remove its data (.data/temporal.db) and start again; ' +
          'on a cluster, remove the attribute (temporal operator search-attribute remove) or use a new namespace',
      );
  }
  const known = new Set([...Object.keys(custom), ...Object.keys(existing.systemAttributes ?? {})]);
  const missing = SEARCH_ATTRIBUTE_KEYS.filter((key) => !known.has(key.name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPE[key.type]!])),
  });
  return missing.map((key) => key.name);
}
