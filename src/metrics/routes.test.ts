import { describe, expect, it } from 'vitest';
import { routeOf } from './routes.js';

describe('KubeSphere routes for metric labels', () => {
  it('replaces every name with {name}', () => {
    expect(routeOf('/kapis/iam.kubesphere.io/v1beta1/users/alice')).toBe(
      '/kapis/iam.kubesphere.io/v1beta1/users/{name}',
    );
    expect(routeOf('/kapis/iam.kubesphere.io/v1beta1/users?globalrole=platform-admin')).toBe(
      '/kapis/iam.kubesphere.io/v1beta1/users',
    );
    expect(
      routeOf('/clusters/member-1/kapis/tenant.kubesphere.io/v1beta1/workspaces/team-a/namespaces/team-a-dev'),
    ).toBe('/clusters/{name}/kapis/tenant.kubesphere.io/v1beta1/workspaces/{name}/namespaces/{name}');
    expect(routeOf('/kapis/iam.kubesphere.io/v1beta1/workspaces/team-a/workspacemembers/bob')).toBe(
      '/kapis/iam.kubesphere.io/v1beta1/workspaces/{name}/workspacemembers/{name}',
    );
    expect(routeOf('/oauth/token')).toBe('/oauth/token');
    expect(routeOf('/oauth/userinfo')).toBe('/oauth/userinfo');
  });

  it('answers `other` for a shape the client never sends, never the path itself', () => {
    expect(routeOf('/kapis/iam.kubesphere.io/v1beta1/alice')).toBe('other');
    expect(routeOf('/')).toBe('other');
    expect(routeOf('/users/alice/bob')).toBe('other');
  });
});
