import proto from '@temporalio/proto';
import { ConfigError } from '../config.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/definitions.js';

const DEV_SERVER_TYPE: Record<string, string> = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList' };
const INDEXED_TYPE: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KEYWORD_LIST: proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** gRPC status codes: what a server says when it will not let us list or register attributes. */
const GRPC = {
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  UNAUTHENTICATED: 16,
};

/** The services the checks use: a client `Connection` or the worker's `NativeConnection`. */
export interface SearchAttributeServices {
  operatorService: {
    listSearchAttributes(
      request: proto.temporal.api.operatorservice.v1.IListSearchAttributesRequest,
    ): Promise<proto.temporal.api.operatorservice.v1.IListSearchAttributesResponse>;
    addSearchAttributes(request: proto.temporal.api.operatorservice.v1.IAddSearchAttributesRequest): Promise<unknown>;
  };
  workflowService: {
    countWorkflowExecutions(
      request: proto.temporal.api.workflowservice.v1.ICountWorkflowExecutionsRequest,
    ): Promise<unknown>;
  };
}

export interface SearchAttributeSpec {
  name: string;
  /** as the `temporal` CLI, `tcld` and the Cloud UI spell it: Keyword, KeywordList */
  type: string;
}

/** Our attributes, with their types. */
export function searchAttributeSpecs(): SearchAttributeSpec[] {
  return SEARCH_ATTRIBUTE_KEYS.map((key) => ({ name: key.name, type: DEV_SERVER_TYPE[key.type]! }));
}

/**
 * Some of our attributes are missing (and this worker could not register them) or have another type. A configuration
 * problem of the namespace: exit 2, with what to run.
 */
export class SearchAttributesError extends ConfigError {
  constructor(
    message: string,
    readonly missing: SearchAttributeSpec[],
  ) {
    super(message);
  }
}

/** `--search-attribute Name=Type` flags for `temporal server start-dev`. */
export function devServerSearchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTE_KEYS.flatMap((key) => ['--search-attribute', `${key.name}=${DEV_SERVER_TYPE[key.type]}`]);
}

export interface SearchAttributeInspection {
  missing: SearchAttributeSpec[];
  /** registered with another type (known only when the operator service answered) */
  wrongType: (SearchAttributeSpec & { registeredAs: string })[];
  /**
   * `operator`: ListSearchAttributes answered; `query`: the operator service is closed to us (Temporal Cloud, an
   * authorizer), so each attribute was tried in a visibility query instead
   */
  listedBy: 'operator' | 'query';
  /** why the operator service did not answer, when listedBy is `query` */
  operatorRefusal?: string;
  /** every custom attribute of the namespace and its type, when listedBy is `operator` */
  custom?: Record<string, string>;
}

/** SQL visibility's slots per namespace and type (PostgreSQL, MySQL, SQLite; Elasticsearch has no such limit). */
export const SQL_VISIBILITY_SLOTS: Readonly<Record<string, number>> = {
  Keyword: 10,
  KeywordList: 3,
  Bool: 3,
  Datetime: 3,
  Double: 3,
  Int: 3,
  Text: 3,
};

/**
 * Whether registering the missing attributes would overflow SQL visibility's slots of their type: why, or undefined.
 * Needs the namespace's custom attributes (an inspection through the operator service).
 */
export function sqlSlotShortage(inspection: SearchAttributeInspection): string | undefined {
  if (!inspection.custom) return undefined;
  for (const type of new Set(inspection.missing.map((m) => m.type))) {
    const slots = SQL_VISIBILITY_SLOTS[type];
    if (slots === undefined) continue;
    const used = Object.values(inspection.custom).filter((t) => t === type).length;
    const wanted = inspection.missing.filter((m) => m.type === type).length;
    if (used + wanted > slots)
      return `the namespace uses ${used} of its ${slots} ${type} slots and ${wanted} more are needed`;
  }
  return undefined;
}

/**
 * Which of our search attributes the namespace lacks. Asks the operator service (ListSearchAttributes), which also
 * gives the types; where that is not permitted (Temporal Cloud manages attributes in its own control plane and refuses
 * the operator service), tries each attribute in a CountWorkflowExecutions query, which any worker may send: a query
 * on an attribute the namespace lacks is refused as `invalid search attribute`.
 */
export async function inspectSearchAttributes(
  connection: SearchAttributeServices,
  namespace: string,
): Promise<SearchAttributeInspection> {
  const ours = SEARCH_ATTRIBUTE_KEYS;
  let listed;
  try {
    listed = await connection.operatorService.listSearchAttributes({ namespace });
  } catch (error) {
    if (!isNotPermitted(error)) throw error;
    const missing: SearchAttributeSpec[] = [];
    for (const key of ours) {
      if (!(await usableInQuery(connection, namespace, key.name)))
        missing.push({ name: key.name, type: DEV_SERVER_TYPE[key.type]! });
    }
    return { missing, wrongType: [], listedBy: 'query', operatorRefusal: grpcMessage(error) };
  }
  const custom = listed.customAttributes ?? {};
  const known = new Set([...Object.keys(custom), ...Object.keys(listed.systemAttributes ?? {})]);
  const wrongType = ours
    .filter((key) => custom[key.name] != null && custom[key.name] !== INDEXED_TYPE[key.type])
    .map((key) => ({ name: key.name, type: DEV_SERVER_TYPE[key.type]!, registeredAs: typeName(custom[key.name]!) }));
  const missing = ours
    .filter((key) => !known.has(key.name))
    .map((key) => ({ name: key.name, type: DEV_SERVER_TYPE[key.type]! }));
  const customTypes = Object.fromEntries(Object.entries(custom).map(([name, type]) => [name, typeName(type)]));
  return { missing, wrongType, listedBy: 'operator', custom: customTypes };
}

/**
 * Makes sure the namespace has our search attributes: registers the missing ones where this worker may, and
 * otherwise stops it with a SearchAttributesError that names each missing attribute, its type and the command that
 * adds it. Registration is refused on Temporal Cloud (attributes are added with tcld or the Cloud UI), by a server
 * whose authorizer does not give this identity the admin role, and by SQL visibility when the namespace has no free
 * slot of that type (10 Keyword and 3 KeywordList per namespace on PostgreSQL, MySQL, SQLite). Returns the names
 * registered; any other failure is thrown as it is.
 */
export async function ensureSearchAttributes(
  connection: SearchAttributeServices,
  namespace: string,
): Promise<string[]> {
  const inspection = await inspectSearchAttributes(connection, namespace);
  if (inspection.wrongType.length)
    throw new SearchAttributesError(
      `namespace ${namespace} (TEMPORAL_NAMESPACE) has ${inspection.wrongType
        .map((a) => `${a.name} as ${a.registeredAs}, not ${a.type}`)
        .join(', ')}; an attribute cannot change its type: on a dev server, remove its data ` +
        '(.data/temporal.db) and start again; on a cluster, remove the attribute (temporal operator search-attribute remove) ' +
        'or use a new namespace',
      inspection.wrongType,
    );
  const { missing } = inspection;
  if (missing.length === 0) return [];
  if (inspection.listedBy === 'query')
    throw missingError(
      namespace,
      missing,
      `this worker may not register them (the operator service refused: ${inspection.operatorRefusal}; ` +
        'Temporal Cloud manages search attributes in its control plane)',
    );
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        SEARCH_ATTRIBUTE_KEYS.filter((key) => missing.some((m) => m.name === key.name)).map((key) => [
          key.name,
          INDEXED_TYPE[key.type]!,
        ]),
      ),
    });
  } catch (error) {
    if (isNotPermitted(error))
      throw missingError(namespace, missing, `this worker may not register them (${grpcMessage(error)})`);
    if (isRefusedAsInvalid(error))
      throw missingError(
        namespace,
        missing,
        `the server refused to register them (${grpcMessage(error)}): SQL visibility allows 10 Keyword and 3 KeywordList ` +
          'attributes per namespace; remove unused ones (temporal operator search-attribute remove) or use another namespace',
      );
    throw error;
  }
  return missing.map((m) => m.name);
}

/** What to run to add `missing`: self-hosted (temporal CLI) and Temporal Cloud (tcld, or the Cloud UI). */
export function howToAddSearchAttributes(namespace: string, missing: SearchAttributeSpec[]): string {
  const byType = new Map<string, string[]>();
  for (const attribute of missing) byType.set(attribute.type, [...(byType.get(attribute.type) ?? []), attribute.name]);
  const cli = [...byType.entries()]
    .map(
      ([type, names]) =>
        `temporal operator search-attribute create --namespace ${namespace} ${names.map((n) => `--name ${n}`).join(' ')} --type ${type}`,
    )
    .join(' && ');
  const tcld = `tcld namespace search-attributes add --namespace ${namespace} ${missing
    .map((a) => `--search-attribute ${a.name}=${a.type}`)
    .join(' ')}`;
  return (
    `self-hosted: ${cli}; Temporal Cloud: ${tcld} (or in the Cloud UI: Namespaces → ${namespace} → Edit → ` +
    'Custom Search Attributes)'
  );
}

function missingError(namespace: string, missing: SearchAttributeSpec[], why: string): SearchAttributesError {
  return new SearchAttributesError(
    `namespace ${namespace} (TEMPORAL_NAMESPACE) lacks the search attributes ${missing
      .map((a) => `${a.name} (${a.type})`)
      .join(', ')}, and ${why}. Add them, then start the worker again: ${howToAddSearchAttributes(namespace, missing)}`,
    missing,
  );
}

/** Whether a visibility query may use `name`: refused as an invalid search attribute when the namespace lacks it. */
async function usableInQuery(connection: SearchAttributeServices, namespace: string, name: string): Promise<boolean> {
  try {
    await connection.workflowService.countWorkflowExecutions({ namespace, query: `${name} = 'ks-onboard-probe'` });
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === GRPC.INVALID_ARGUMENT && /search attribute/i.test(grpcMessage(error))) return false;
    throw error;
  }
}

/** `INDEXED_VALUE_TYPE_KEYWORD_LIST` → `KeywordList` */
function typeName(type: proto.temporal.api.enums.v1.IndexedValueType): string {
  const name = proto.temporal.api.enums.v1.IndexedValueType[type] ?? String(type);
  return name
    .replace(/^INDEXED_VALUE_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
}

function isNotPermitted(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === GRPC.PERMISSION_DENIED || code === GRPC.UNAUTHENTICATED || code === GRPC.UNIMPLEMENTED;
}

function isRefusedAsInvalid(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === GRPC.INVALID_ARGUMENT || code === GRPC.FAILED_PRECONDITION;
}

/** The server's own words (gRPC `details`), without the `7 PERMISSION_DENIED:` prefix. */
function grpcMessage(error: unknown): string {
  const details = (error as { details?: unknown } | null)?.details;
  if (typeof details === 'string' && details) return details;
  return error instanceof Error ? error.message : String(error);
}
