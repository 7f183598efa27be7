import { z } from 'zod';

/** Well-known annotation and label keys (kubesphere-api.md §3, §6, §7, §8). */
export const KEYS = {
  globalRole: 'iam.kubesphere.io/globalrole',
  workspaceRole: 'iam.kubesphere.io/workspacerole',
  projectRole: 'iam.kubesphere.io/role',
  creator: 'kubesphere.io/creator',
  aliasName: 'kubesphere.io/alias-name',
  uninitialized: 'iam.kubesphere.io/uninitialized',
  workspaceLabel: 'kubesphere.io/workspace',
  managedLabel: 'kubesphere.io/managed',
} as const;

const stringMap = z.record(z.string(), z.string());

// Echoes of POST/PUT may lack apiVersion/kind (§1.6), and the server adds fields we do not model:
// every object schema is loose and every envelope field we do not rely on is optional.
export const objectMetaSchema = z.looseObject({
  name: z.string(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().nullable().optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  finalizers: z.array(z.string()).optional(),
});

const typeMeta = { apiVersion: z.string().optional(), kind: z.string().optional() };

export const userSchema = z.looseObject({
  ...typeMeta,
  metadata: objectMetaSchema,
  spec: z.looseObject({ email: z.string().optional() }).optional(),
  status: z
    .looseObject({ state: z.string().optional(), lastTransitionTime: z.string().nullable().optional() })
    .optional(),
});
export type User = z.infer<typeof userSchema>;

export const workspaceTemplateSchema = z.looseObject({
  ...typeMeta,
  metadata: objectMetaSchema,
  spec: z
    .looseObject({
      template: z.looseObject({ spec: z.looseObject({ manager: z.string().optional() }).optional() }).optional(),
      placement: z
        .looseObject({
          clusters: z.array(z.looseObject({ name: z.string() })).optional(),
          clusterSelector: z.unknown().optional(),
        })
        .optional(),
    })
    .optional(),
});
export type WorkspaceTemplate = z.infer<typeof workspaceTemplateSchema>;

export const namespaceSchema = z.looseObject({
  ...typeMeta,
  metadata: objectMetaSchema,
  status: z.looseObject({ phase: z.string().optional() }).optional(),
});
export type Namespace = z.infer<typeof namespaceSchema>;

export const memberSchema = z.object({ username: z.string(), roleRef: z.string() });
export type Member = z.infer<typeof memberSchema>;

export const tokenSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string(),
  refresh_token: z.string().optional(),
  expires_in: z.number().optional(),
});
export type TokenResponse = z.infer<typeof tokenSchema>;

export const successSchema = z.looseObject({ message: z.string() });

/** KubeSphere's list envelope; member lists answer `items: null` when a filter matches nothing (§1.7). */
export function listSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z
      .array(item)
      .nullable()
      .transform((items) => items ?? []),
    totalItems: z.number().int().nonnegative(),
  });
}
export interface ListResult<T> {
  items: T[];
  totalItems: number;
}
