/**
 * A KubeSphere request's route for a metric label: its path with every name replaced by `{name}`, so a label never
 * carries a username, a workspace or a project and the number of series stays bounded. A path of a shape the client
 * never sends is `other`.
 */
const COLLECTIONS = new Set([
  'users',
  'workspacetemplates',
  'workspaces',
  'namespaces',
  'workspacemembers',
  'namespacemembers',
  'clusters',
  'globalroles',
  'workspaceroles',
  'roles',
  'clustermembers',
  'clusterroles',
]);
/** Fixed segments: API roots and versions, OAuth endpoints. */
const FIXED = /^(kapis|apis|api|oauth|token|userinfo|[a-z]+(\.[a-z]+)*\.io|v\d+(alpha\d+|beta\d+)?)$/;

export function routeOf(path: string): string {
  const pathname = path.split('?')[0] ?? '';
  const segments = pathname.split('/').filter(Boolean);
  if (segments.length === 0 || segments.length > 12) return 'other';
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const previous = segments[i - 1];
    if (previous !== undefined && COLLECTIONS.has(previous) && out[out.length - 1] === previous) out.push('{name}');
    else if (COLLECTIONS.has(segment) || FIXED.test(segment)) out.push(segment);
    else return 'other';
  }
  return `/${out.join('/')}`;
}
