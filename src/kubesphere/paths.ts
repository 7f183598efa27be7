/** API roots of KubeSphere 4.1 (kubesphere-api.md §1.1). */
export const IAM = '/kapis/iam.kubesphere.io/v1beta1';
export const TENANT = '/kapis/tenant.kubesphere.io/v1beta1';

/** `/clusters/{c}` selects a cluster (§1.2); no prefix means the host cluster. */
export function clusterPrefix(cluster: string | undefined): string {
  return cluster ? `/clusters/${segment(cluster)}` : '';
}

export function segment(value: string): string {
  return encodeURIComponent(value);
}
