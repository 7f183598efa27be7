import { randomBytes } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  codecConfig,
  hrConfig,
  intakeConfig,
  kubesphereConfig,
  requiredCodecKeyRing,
  temporalConfig,
  workerConfig,
} from '../../src/config.js';
import { generateKeyRingEntry } from '../../src/codec/payload-codec.js';
import {
  documents,
  exec,
  findTool,
  readsVariable,
  readText,
  readYaml,
  readYamlDocuments,
  sourceText,
} from './support.js';

/**
 * deploy/k8s: the base and the example overlay, assembled as kustomize does (resources, namespace, images, replicas,
 * labels, strategic-merge patches: the features the files use), compared with `kubectl kustomize` where kubectl
 * exists, each document validated against the Kubernetes schemas of the kubernetes-models package (no cluster is
 * reachable), then held to the rules of docs/deployment.md.
 */
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  replicas?: { name: string; count: number }[];
  patches?: { path: string }[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[];
  [key: string]: unknown;
}
const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'replicas', 'patches', 'labels']);
const CLUSTER_SCOPED = new Set(['Namespace']);

function merge(target: Doc, patch: Doc): Doc {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (
      Array.isArray(value) &&
      Array.isArray(current) &&
      value.every((v) => v && typeof v === 'object' && 'name' in v)
    ) {
      for (const item of value) {
        const same = current.find((c: Doc) => c.name === item.name);
        if (same) merge(same, item);
        else current.push(item);
      }
    } else if (value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object') {
      merge(current, value);
    } else target[key] = value;
  }
  return target;
}

function build(dir: string): Doc[] {
  const k = readYaml<Kustomization>(join(dir, 'kustomization.yaml'));
  for (const key of Object.keys(k)) expect([dir, key, SUPPORTED.has(key)]).toEqual([dir, key, true]);
  const docs: Doc[] = (k.resources ?? []).flatMap((resource) =>
    resource.endsWith('.yaml') ? (readYamlDocuments(join(dir, resource)) as Doc[]) : build(join(dir, resource)),
  );
  for (const { path } of k.patches ?? [])
    for (const patch of readYamlDocuments(join(dir, path)) as Doc[]) {
      const target = docs.find((d) => d.kind === patch.kind && d.metadata.name === patch.metadata.name);
      expect(target, `${path} patches nothing`).toBeDefined();
      merge(target!, patch);
    }
  for (const doc of docs) {
    if (k.namespace && !CLUSTER_SCOPED.has(doc.kind)) doc.metadata.namespace = k.namespace;
    for (const { pairs } of k.labels ?? []) doc.metadata.labels = { ...doc.metadata.labels, ...pairs };
    for (const { name, count } of k.replicas ?? [])
      if (doc.kind === 'Deployment' && doc.metadata.name === name) doc.spec.replicas = count;
    for (const container of doc.spec?.template?.spec?.containers ?? [])
      for (const image of k.images ?? [])
        if (container.image === image.name || container.image.startsWith(`${image.name}:`))
          container.image = `${image.newName ?? image.name}:${image.newTag ?? container.image.split(':')[1] ?? 'latest'}`;
  }
  return docs;
}

const OVERLAY = 'deploy/k8s/overlays/example';
const docs = build(OVERLAY);
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const named = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name)!;
const deployments = byKind('Deployment');
const secretsExample = readYamlDocuments(`${OVERLAY}/secret.example.yaml`) as Doc[];
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PWD|_KEYS?$|CREDENTIAL|SERVICE_USER|API_KEY/;

describe('deploy/k8s, assembled from the example overlay', () => {
  it('is what `kubectl kustomize` builds, where kubectl exists', async (ctx) => {
    const kubectl = findTool('kubectl');
    if (!kubectl) return ctx.skip(); // the assembly above is then the only build: it needs no tool
    const { stdout } = await exec(kubectl, ['kustomize', OVERLAY], { maxBuffer: 16 * 1024 * 1024 });
    const built = parseAllDocuments(stdout).map((d) => d.toJS() as Doc);
    const key = (d: Doc) => `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`;
    expect(built.map(key).sort()).toEqual(docs.map(key).sort());
    for (const doc of built) expect(doc).toEqual(docs.find((d) => key(d) === key(doc)));
  });

  it('validates against the Kubernetes schemas (kubernetes-models)', async () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(
      [
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'Deployment',
        'Deployment',
        'Namespace',
        'PodDisruptionBudget',
        'Service',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    for (const doc of [...docs, ...secretsExample]) {
      const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : [undefined, doc.apiVersion];
      const module = (await import(`kubernetes-models/${group ? `${group}/` : ''}${version}/${doc.kind}`)) as Record<
        string,
        new (data: Doc) => { validate(): void }
      >;
      expect(() => new module[doc.kind]!(doc).validate(), `${doc.kind} ${doc.metadata.name}`).not.toThrow();
    }
    // the validation can fail: a wrong type is refused
    const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
    const broken = structuredClone(named('Deployment', 'ks-onboard-worker'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort/);
  });

  it('runs every pod as non-root on a read-only root filesystem, with nothing but /tmp writable', () => {
    for (const deployment of deployments) {
      const pod = deployment.spec.template.spec;
      const name = deployment.metadata.name;
      expect([name, pod.securityContext]).toMatchObject([
        name,
        { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      ]);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect([name, pod.automountServiceAccountToken, pod.serviceAccountName]).toEqual([name, false, 'ks-onboard']);
      const tmp = pod.volumes.find((v: Doc) => v.name === 'tmp');
      expect([name, tmp?.emptyDir]).toEqual([name, expect.any(Object)]);
      for (const container of pod.containers) {
        expect([name, container.securityContext]).toEqual([
          name,
          { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        ]);
        expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        for (const mount of container.volumeMounts.filter((m: Doc) => m.name !== 'tmp'))
          expect([name, mount.readOnly]).toEqual([name, true]);
        const dataDir = container.env.find((e: Doc) => e.name === 'KS_ONBOARD_DATA_DIR')?.value;
        expect([name, dataDir]).toEqual([name, expect.stringMatching(/^\/tmp\//)]);
        expect(container.image).toBe('registry.example.com/platform/ks-onboard:0.1.0');
        for (const kind of ['requests', 'limits'])
          expect([name, kind, Object.keys(container.resources[kind]).sort()]).toEqual([name, kind, ['cpu', 'memory']]);
      }
    }
    expect(named('ServiceAccount', 'ks-onboard').automountServiceAccountToken).toBe(false);
    expect(named('Namespace', 'ks-onboard').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it("probes each command's own endpoints on the port it listens on", () => {
    const probes = (name: string) => {
      const container = named('Deployment', name).spec.template.spec.containers[0];
      const port = (ref: string | number) =>
        typeof ref === 'number' ? ref : container.ports.find((p: Doc) => p.name === ref)?.containerPort;
      const env = Object.fromEntries(container.env.filter((e: Doc) => 'value' in e).map((e: Doc) => [e.name, e.value]));
      const of = (probe: string) =>
        container[probe] && { path: container[probe].httpGet.path, port: String(port(container[probe].httpGet.port)) };
      return {
        env,
        live: of('livenessProbe'),
        ready: of('readinessProbe'),
        start: of('startupProbe'),
        args: container.args,
      };
    };
    const worker = probes('ks-onboard-worker');
    expect(worker.args).toEqual(['worker']);
    expect(worker.live).toEqual({ path: '/healthz', port: worker.env.KS_ONBOARD_HEALTH_PORT });
    // not ready (never restarted) while KubeSphere refuses the login: /readyz
    expect(worker.ready).toEqual({ path: '/readyz', port: worker.env.KS_ONBOARD_HEALTH_PORT });
    expect(worker.start).toEqual({ path: '/healthz', port: worker.env.KS_ONBOARD_HEALTH_PORT });
    const intake = probes('ks-onboard-intake');
    expect(intake.args).toEqual(['serve']);
    expect(intake.live).toEqual({ path: '/healthz', port: intake.env.KS_ONBOARD_INTAKE_PORT });
    expect(intake.ready).toEqual({ path: '/readyz', port: intake.env.KS_ONBOARD_INTAKE_PORT });
    const codec = probes('ks-onboard-codec-server');
    expect(codec.args).toEqual(['codec-server']);
    expect(codec.live).toEqual({ path: '/healthz', port: codec.env.KS_ONBOARD_CODEC_PORT });
    expect(codec.ready).toEqual({ path: '/healthz', port: codec.env.KS_ONBOARD_CODEC_PORT });
    expect(codec.env).toMatchObject({ KS_ONBOARD_CODEC_AUTH: 'kubesphere', KS_ONBOARD_CODEC_HOST: '0.0.0.0' });
    expect(intake.env.KS_ONBOARD_INTAKE_HOST).toBe('0.0.0.0');
  });

  it('keeps a worker through voluntary disruptions and rollouts, and gives it time to drain', () => {
    const worker = named('Deployment', 'ks-onboard-worker');
    const pdb = named('PodDisruptionBudget', 'ks-onboard-worker');
    expect(worker.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(worker.spec.replicas);
    expect(worker.spec.replicas).toBe(3); // the overlay's
    expect(worker.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const grace = worker.spec.template.spec.containers[0].env.find(
      (e: Doc) => e.name === 'KS_ONBOARD_SHUTDOWN_GRACE',
    ).value;
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(/^(\d+)s$/.exec(grace)![1]));
  });

  it('serves the intake and the codec server through Services that select their pods and name their ports', () => {
    for (const [service, deployment] of [
      ['ks-onboard-intake', 'ks-onboard-intake'],
      ['ks-onboard-codec-server', 'ks-onboard-codec-server'],
    ] as const) {
      const svc = named('Service', service);
      const pod = named('Deployment', deployment).spec.template;
      expect(pod.metadata.labels).toMatchObject(svc.spec.selector);
      for (const port of svc.spec.ports)
        expect(pod.spec.containers[0].ports.map((p: Doc) => p.name)).toContain(port.targetPort);
    }
  });
});

describe('secrets and configuration in deploy/k8s', () => {
  const exampleKeys = new Map(
    secretsExample.map((s) => [s.metadata.name as string, new Set(Object.keys(s.stringData ?? {}))]),
  );

  it('secret.example.yaml holds placeholders only and is not a resource of any kustomization', () => {
    for (const secret of secretsExample) {
      expect(secret.data).toBeUndefined();
      for (const [key, value] of Object.entries(secret.stringData as Record<string, string>))
        expect([secret.metadata.name, key, value]).toEqual([
          secret.metadata.name,
          key,
          expect.stringMatching(/^<[^>]+>$/),
        ]);
    }
    expect(readText(`${OVERLAY}/kustomization.yaml`)).not.toMatch(/^\s*-\s*secret\.example\.yaml/m);
    expect(byKind('Secret')).toEqual([]);
  });

  it('references only Secret and ConfigMap keys that exist, and never sets a secret as a literal', () => {
    for (const deployment of deployments) {
      const pod = deployment.spec.template.spec;
      for (const container of pod.containers) {
        for (const env of container.env) {
          const ref = env.valueFrom?.secretKeyRef;
          if (ref) expect([env.name, exampleKeys.get(ref.name)?.has(ref.key)]).toEqual([env.name, true]);
          if ('value' in env && SECRET_NAME.test(env.name))
            expect([env.name, env.value]).toEqual([env.name, expect.stringMatching(/^\/var\/run\/secrets\//)]);
        }
        for (const from of container.envFrom ?? []) {
          expect(from.secretRef).toBeUndefined();
          const data = named('ConfigMap', from.configMapRef.name).data as Record<string, string>;
          for (const key of Object.keys(data)) expect([key, SECRET_NAME.test(key)]).toEqual([key, false]);
        }
      }
      for (const volume of pod.volumes) {
        if (volume.secret)
          for (const item of volume.secret.items)
            expect([
              volume.secret.secretName,
              item.key,
              exampleKeys.get(volume.secret.secretName)?.has(item.key),
            ]).toEqual([volume.secret.secretName, item.key, true]);
        if (volume.configMap)
          for (const item of volume.configMap.items)
            expect(Object.keys(named('ConfigMap', volume.configMap.name).data)).toContain(item.key);
      }
    }
  });

  it('sets only variables the code reads and the docs describe', () => {
    const source = sourceText();
    const docsText = [readText('README.md'), readText('docs/deployment.md')];
    const names = new Set<string>();
    for (const deployment of deployments)
      for (const container of deployment.spec.template.spec.containers) {
        for (const env of container.env) names.add(env.name);
        for (const from of container.envFrom ?? [])
          for (const key of Object.keys(named('ConfigMap', from.configMapRef.name).data)) names.add(key);
      }
    const unread = [...names].filter((name) => !readsVariable(source, name));
    const undocumented = [...names].filter((name) => !documents(docsText, name));
    expect({ unread, undocumented }).toEqual({ unread: [], undocumented: [] });
  });

  it("makes each Deployment's configuration parse, its files where the mounts put them", () => {
    const root = mkdtempSync(join(tmpdir(), 'ks-k8s-'));
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const secretValues: Record<string, Record<string, string>> = {
      'ks-onboard-kubesphere': { password: 'Ks1-secret-password' },
      'ks-onboard-seal': { 'seal-private.pem': privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
      'ks-onboard-codec': { 'codec-keys': generateKeyRingEntry('k8s') },
      'ks-onboard-hr': {
        'webhook-secrets': `whsec_${randomBytes(32).toString('base64')}`,
        'intake-token': randomBytes(24).toString('hex'),
      },
    };
    const environment = (name: string): NodeJS.ProcessEnv => {
      const pod = named('Deployment', name).spec.template.spec;
      const container = pod.containers[0];
      const env: Record<string, string> = {};
      for (const from of container.envFrom) Object.assign(env, named('ConfigMap', from.configMapRef.name).data);
      for (const entry of container.env) {
        const ref = entry.valueFrom?.secretKeyRef;
        env[entry.name] = ref ? secretValues[ref.name]![ref.key]! : entry.value;
      }
      // each mounted volume's items as files under root (the pod's filesystem)
      for (const mount of container.volumeMounts) {
        const volume = pod.volumes.find((v: Doc) => v.name === mount.name);
        mkdirSync(join(root, name, mount.mountPath), { recursive: true });
        const items: { key: string; path: string }[] = volume.secret?.items ?? volume.configMap?.items ?? [];
        for (const item of items) {
          const content = volume.secret
            ? secretValues[volume.secret.secretName]![item.key]!
            : named('ConfigMap', volume.configMap.name).data[item.key];
          writeFileSync(join(root, name, mount.mountPath, item.path), content);
        }
      }
      for (const [key, value] of Object.entries(env)) if (value.startsWith('/')) env[key] = join(root, name, value);
      return env;
    };

    const worker = environment('ks-onboard-worker');
    expect(temporalConfig(worker).address).toMatch(/:7233$/);
    expect(kubesphereConfig(worker).login).toMatchObject({
      username: 'ks-onboard',
      passwordFile: expect.stringContaining('/kubesphere/password'),
    });
    expect(workerConfig(worker)).toMatchObject({
      healthPort: 8081,
      sealPrivateKeys: [expect.stringContaining('seal-private.pem')],
    });
    expect(requiredCodecKeyRing(worker).ids).toEqual(['k8s']);
    expect(hrConfig(worker)?.mapping).toBeDefined();
    expect(intakeConfig(environment('ks-onboard-intake'))).toMatchObject({
      host: '0.0.0.0',
      port: 8787,
      token: expect.any(String),
    });
    expect(codecConfig(environment('ks-onboard-codec-server'))).toMatchObject({
      auth: 'kubesphere',
      corsOrigin: 'https://temporal.example.com',
    });
  });
});
