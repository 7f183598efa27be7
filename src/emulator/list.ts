/** KubeSphere's list semantics (kubesphere-api.md §1.7): filters, sorting, paging, envelope. */

export interface Listable {
  metadata: {
    name: string;
    creationTimestamp?: string | null;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

const PAGING = new Set(['limit', 'page', 'sortBy', 'ascending']);
const ALIAS = 'kubesphere.io/alias-name';

export interface ListOptions {
  /** Member lists answer `items: null` when a filter is present and nothing matches. */
  nullWhenFilteredEmpty?: boolean;
  /** Extra filters a particular endpoint understands (e.g. `workspacerole`). */
  extraFilters?: Record<string, (item: Listable, value: string) => boolean>;
}

export function listEnvelope<T extends Listable>(items: T[], query: URLSearchParams, options: ListOptions = {}) {
  const filters = [...query.entries()].filter(([key]) => !PAGING.has(key));
  const filtered = items.filter((item) => filters.every(([key, value]) => matches(item, key, value, options)));
  sortItems(filtered, query.get('sortBy') ?? 'creationTimestamp', query.get('ascending') === 'true');
  const limit = Number.parseInt(query.get('limit') ?? '', 10);
  const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
  const paged = Number.isNaN(limit) || limit < 0 ? filtered : filtered.slice((page - 1) * limit, page * limit);
  const empty = options.nullWhenFilteredEmpty && filters.length > 0 && paged.length === 0;
  return { items: empty ? null : paged, totalItems: filtered.length };
}

function matches(item: Listable, key: string, value: string, options: ListOptions): boolean {
  const extra = options.extraFilters?.[key];
  if (extra) return extra(item, value);
  const meta = item.metadata;
  switch (key) {
    case 'name':
      return meta.name.includes(value) || (meta.annotations?.[ALIAS] ?? '').toLowerCase().includes(value.toLowerCase());
    case 'names':
      return value.split(',').includes(meta.name);
    case 'label':
      return pairMatches(meta.labels, value);
    case 'annotation':
      return pairMatches(meta.annotations, value);
    case 'labelSelector':
      return value.split(',').every((requirement) => selectorMatches(meta.labels ?? {}, requirement.trim()));
    case 'fieldSelector':
      return value.split(',').every((requirement) => fieldMatches(item, requirement));
    default:
      return true; // unknown parameters match everything
  }
}

function pairMatches(map: Record<string, string> | undefined, pair: string): boolean {
  const at = pair.indexOf('=');
  if (at < 0) return map?.[pair] !== undefined;
  return map?.[pair.slice(0, at)] === pair.slice(at + 1);
}

function selectorMatches(labels: Record<string, string>, requirement: string): boolean {
  if (requirement === '') return true;
  if (requirement.startsWith('!')) return labels[requirement.slice(1)] === undefined;
  const notEqual = requirement.split('!=');
  if (notEqual.length === 2) return labels[notEqual[0]!] !== notEqual[1];
  const equal = requirement.split(/==?/);
  if (equal.length === 2) return labels[equal[0]!] === equal[1];
  return labels[requirement] !== undefined;
}

function fieldMatches(item: Listable, requirement: string): boolean {
  const at = requirement.indexOf('=');
  if (at < 0) return true;
  const path = requirement.slice(0, at);
  let expected = requirement.slice(at + 1);
  const insensitive = expected.startsWith('~');
  if (insensitive) expected = expected.slice(1);
  let current: unknown = item;
  for (const part of path.split('.')) current = (current as Record<string, unknown> | undefined)?.[part];
  const actual = current === undefined || current === null ? '' : String(current);
  return insensitive ? actual.toLowerCase() === expected.toLowerCase() : actual === expected;
}

function sortItems(items: Listable[], sortBy: string, ascending: boolean): void {
  const byName = (a: Listable, b: Listable) => a.metadata.name.localeCompare(b.metadata.name);
  const compare =
    sortBy === 'name'
      ? byName
      : (a: Listable, b: Listable) => {
          const at = a.metadata.creationTimestamp ?? '';
          const bt = b.metadata.creationTimestamp ?? '';
          return at === bt ? byName(a, b) : at < bt ? -1 : 1;
        };
  items.sort((a, b) => (ascending ? compare(a, b) : compare(b, a)));
}
