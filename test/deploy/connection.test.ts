import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import {
  createSecureServer,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
} from 'node:http2';
import { connect as connectTcp, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, temporalConfig } from '../../src/config.js';
import { createTemporalClient } from '../../src/temporal/client.js';
import {
  describeConnectFailure,
  parseTemporalConnection,
  temporalConnectOptions,
  type TemporalConnectionSettings,
} from '../../src/temporal/connection-config.js';
import { ensureDevKeyPair } from '../../src/codec/seal.js';
import { startCli } from '../helpers/cli.js';
import { ADMIN_PASSWORD, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';

const exec = promisify(execFile);

/**
 * A CA, a server certificate for `temporal.test` and a client certificate (mTLS) made with openssl for this run, plus
 * an unrelated CA, an expired client certificate and the usual wrong files.
 */
async function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'ks-tls-'));
  const file = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = async (name: string) =>
    exec('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.pem`),
      '-days',
      '3',
      '-subj',
      `/CN=${name}`,
    ]);
  const leaf = async (name: string, cn: string, extensions: string, days = '3', signer = 'ca') => {
    await exec('openssl', [
      'req',
      '-new',
      ...ec,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
      '-subj',
      `/CN=${cn}`,
    ]);
    writeFileSync(file(`${name}.ext`), extensions);
    await exec('openssl', [
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${signer}.pem`),
      '-CAkey',
      file(`${signer}.key`),
      '-CAcreateserial',
      '-out',
      file(`${name}.pem`),
      '-days',
      days,
      '-extfile',
      file(`${name}.ext`),
    ]);
  };
  await ca('ca');
  await ca('other-ca');
  await leaf('server', 'temporal.test', 'subjectAltName=DNS:temporal.test\nextendedKeyUsage=serverAuth\n');
  await leaf('client', 'ks-onboard-worker', 'extendedKeyUsage=clientAuth\n');
  await leaf('expired', 'ks-onboard-old', 'extendedKeyUsage=clientAuth\n', '-1');
  writeFileSync(file('not-pem.txt'), 'hello\n');
  writeFileSync(file('api-key'), 'tcld-api-key-0123456789abcdef\n');
  writeFileSync(file('unreadable.pem'), readFileSync(file('ca.pem')));
  chmodSync(file('unreadable.pem'), 0o000);
  return { dir, file };
}
type Certificates = Awaited<ReturnType<typeof makeCertificates>>;

let certs: Certificates;
beforeAll(async () => {
  certs = await makeCertificates();
});

/** The parse's error message, or '' when it parsed. */
function problemsOf(env: NodeJS.ProcessEnv): string {
  try {
    parseTemporalConnection(env);
    return '';
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

describe('parsing the connection variables', () => {
  it('is plaintext without any; TEMPORAL_TLS=1 is TLS with the system CAs', () => {
    expect(parseTemporalConnection({})).toEqual({ tls: false });
    expect(parseTemporalConnection({ TEMPORAL_TLS: '0', TEMPORAL_TLS_CA: '' })).toEqual({ tls: false });
    const tls = parseTemporalConnection({ TEMPORAL_TLS: '1' });
    expect(tls).toEqual({ tls: { enabledBy: ['TEMPORAL_TLS'] } });
    expect(temporalConnectOptions({ address: 'x:7233', namespace: 'ns', connection: tls })).toEqual({
      address: 'x:7233',
      tls: {},
    });
    expect(problemsOf({ TEMPORAL_TLS: 'yes' })).toMatch(/TEMPORAL_TLS: must be 1 or 0/);
  });

  it('reads the CA, the client pair and the server name into the options both connections take', () => {
    const env = {
      TEMPORAL_TLS_CA: certs.file('ca.pem'),
      TEMPORAL_TLS_CERT: certs.file('client.pem'),
      TEMPORAL_TLS_KEY: certs.file('client.key'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    };
    const settings = parseTemporalConnection(env);
    const options = temporalConnectOptions({ address: '10.0.0.1:7233', namespace: 'ns', connection: settings });
    expect(options.tls?.serverRootCACertificate?.toString()).toBe(readFileSync(certs.file('ca.pem'), 'utf8'));
    expect(options.tls?.clientCertPair?.crt.toString()).toBe(readFileSync(certs.file('client.pem'), 'utf8'));
    expect(options.tls?.clientCertPair?.key.toString()).toBe(readFileSync(certs.file('client.key'), 'utf8'));
    expect(options.tls?.serverNameOverride).toBe('temporal.test');
    expect(options.apiKey).toBeUndefined();
    expect(settings.tls && settings.tls.client?.cert.summary).toMatch(/^CN=ks-onboard-worker, valid until 20\d\d-/);
    // src/config.ts carries them in the Temporal configuration every client and worker connects with
    expect(temporalConfig(env).connection).toEqual(settings);
  });

  it("accepts the temporal CLI's names for the same files, and refuses two different files", () => {
    const settings = parseTemporalConnection({
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.file('ca.pem'),
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.file('client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.file('client.key'),
    });
    expect(settings.tls && settings.tls.ca?.variable).toBe('TEMPORAL_TLS_SERVER_CA_CERT_PATH');
    expect(
      problemsOf({
        TEMPORAL_TLS_CA: certs.file('ca.pem'),
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.file('other-ca.pem'),
      }),
    ).toMatch(/TEMPORAL_TLS_CA: TEMPORAL_TLS_SERVER_CA_CERT_PATH \(the temporal CLI's name\) names another file/);
    expect(
      problemsOf({
        TEMPORAL_TLS_CLIENT_CERT_PATH: certs.file('missing.pem'),
        TEMPORAL_TLS_KEY: certs.file('client.key'),
      }),
    ).toMatch(/TEMPORAL_TLS_CLIENT_CERT_PATH: .*missing\.pem does not exist/);
  });

  it('an API key (or its file) turns TLS on and sends the namespace with it', () => {
    const settings = parseTemporalConnection({ TEMPORAL_API_KEY_FILE: certs.file('api-key') });
    expect(settings.apiKey).toEqual({
      variable: 'TEMPORAL_API_KEY_FILE',
      path: certs.file('api-key'),
      key: 'tcld-api-key-0123456789abcdef',
    });
    expect(
      temporalConnectOptions({
        address: 'eu-west-1.aws.api.temporal.io:7233',
        namespace: 'ops.a1b2c',
        connection: settings,
      }),
    ).toEqual({
      address: 'eu-west-1.aws.api.temporal.io:7233',
      tls: {},
      apiKey: 'tcld-api-key-0123456789abcdef',
      metadata: { 'temporal-namespace': 'ops.a1b2c' },
    });
    expect(parseTemporalConnection({ TEMPORAL_API_KEY: 'k3y' }).tls).toEqual({ enabledBy: ['TEMPORAL_API_KEY'] });
  });

  it('names every bad variable at once: missing, unreadable, a directory, not PEM, the wrong kind of file', () => {
    const message = problemsOf({
      TEMPORAL_TLS_CA: certs.file('nope.pem'),
      TEMPORAL_TLS_CERT: certs.file('not-pem.txt'),
      TEMPORAL_TLS_KEY: certs.dir,
      TEMPORAL_API_KEY_FILE: certs.file('missing-key'),
    });
    expect(message).toContain(`TEMPORAL_TLS_CA: ${certs.file('nope.pem')} does not exist`);
    expect(message).toContain(`TEMPORAL_TLS_CERT: ${certs.file('not-pem.txt')} is not a PEM certificate`);
    expect(message).toContain(`TEMPORAL_TLS_KEY: ${certs.dir} is a directory`);
    expect(message).toContain(`TEMPORAL_API_KEY_FILE: ${certs.file('missing-key')} does not exist`);
    if (process.getuid?.() !== 0)
      expect(problemsOf({ TEMPORAL_TLS_CA: certs.file('unreadable.pem') })).toMatch(
        /TEMPORAL_TLS_CA: .* permission denied/,
      );
    expect(problemsOf({ TEMPORAL_TLS_CA: certs.file('ca.key') })).toMatch(/TEMPORAL_TLS_CA: .*holds a private key/);
    expect(
      problemsOf({ TEMPORAL_TLS_CERT: certs.file('client.pem'), TEMPORAL_TLS_KEY: certs.file('client.pem') }),
    ).toMatch(/TEMPORAL_TLS_KEY: .*is a certificate, not a private key/);
  });

  it('refuses a certificate without its key, a key of another certificate, an expired certificate', () => {
    expect(problemsOf({ TEMPORAL_TLS_CERT: certs.file('client.pem') })).toMatch(
      /TEMPORAL_TLS_KEY: TEMPORAL_TLS_CERT is set: mTLS needs the private key/,
    );
    expect(problemsOf({ TEMPORAL_TLS_KEY: certs.file('client.key') })).toMatch(
      /TEMPORAL_TLS_CERT: TEMPORAL_TLS_KEY is set/,
    );
    expect(
      problemsOf({ TEMPORAL_TLS_CERT: certs.file('client.pem'), TEMPORAL_TLS_KEY: certs.file('server.key') }),
    ).toMatch(/TEMPORAL_TLS_KEY: .*server\.key is not the private key of the certificate in TEMPORAL_TLS_CERT/);
    expect(
      problemsOf({ TEMPORAL_TLS_CERT: certs.file('expired.pem'), TEMPORAL_TLS_KEY: certs.file('expired.key') }),
    ).toMatch(/TEMPORAL_TLS_CERT: .*expired\.pem holds a certificate \(CN=ks-onboard-old\) that expired on/);
  });

  it('refuses contradictions: TEMPORAL_TLS=0 with TLS files or an API key, both API key variables', () => {
    expect(problemsOf({ TEMPORAL_TLS: '0', TEMPORAL_TLS_CA: certs.file('ca.pem') })).toMatch(
      /TEMPORAL_TLS: is 0, but TEMPORAL_TLS_CA is set/,
    );
    expect(problemsOf({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' })).toMatch(
      /an API key is never sent without TLS/,
    );
    expect(problemsOf({ TEMPORAL_API_KEY: 'k', TEMPORAL_API_KEY_FILE: certs.file('api-key') })).toMatch(
      /TEMPORAL_API_KEY_FILE: set TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE, not both/,
    );
    expect(problemsOf({ TEMPORAL_API_KEY: 'Bearer abc' })).toMatch(/TEMPORAL_API_KEY: must be the key alone/);
    expect(problemsOf({ TEMPORAL_TLS_SERVER_NAME: 'https://x' })).toMatch(
      /TEMPORAL_TLS_SERVER_NAME: must be a host name/,
    );
  });

  it('never puts an API key in a message', () => {
    const secret = 'super-secret-key-value';
    const message = problemsOf({ TEMPORAL_API_KEY: secret, TEMPORAL_TLS: '0' });
    expect(message).not.toContain(secret);
    const failure = describeConnectFailure(Object.assign(new Error('16 UNAUTHENTICATED: bad key'), { code: 16 }), {
      address: 'a:7233',
      connection: parseTemporalConnection({ TEMPORAL_API_KEY: secret }),
    });
    expect(failure).toMatch(/refused the API key \(TEMPORAL_API_KEY\)/);
    expect(failure).not.toContain(secret);
  });
});

// ---- the settings reach the connection ---------------------------------------------------------------------

interface Handshake {
  servername: string | false;
  clientCertificate: string | undefined;
  authorized: boolean;
}

/**
 * A TLS-terminating proxy in front of the run's dev server (as an ingress or Temporal Cloud's front door would be):
 * it asks for a client certificate, records what each connection presented, and passes the plaintext through.
 */
async function startTlsProxy(
  upstream: string,
): Promise<{ address: string; handshakes: Handshake[]; close(): Promise<void> }> {
  const [host, port] = [upstream.replace(/:\d+$/, ''), Number(upstream.split(':').pop())];
  const handshakes: Handshake[] = [];
  const server: TlsServer = createTlsServer(
    {
      key: readFileSync(certs.file('server.key')),
      cert: readFileSync(certs.file('server.pem')),
      ca: readFileSync(certs.file('ca.pem')),
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    },
    (socket: TLSSocket) => {
      const peer = socket.getPeerCertificate();
      handshakes.push({
        // set by Node for the SNI the client sent (not in @types/node)
        servername: (socket as TLSSocket & { servername?: string | false }).servername ?? false,
        clientCertificate: peer && 'subject' in peer && peer.subject ? peer.subject.CN : undefined,
        authorized: socket.authorized,
      });
      const backend = connectTcp(port, host);
      socket.pipe(backend).pipe(socket);
      socket.on('error', () => backend.destroy());
      backend.on('error', () => socket.destroy());
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    handshakes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An HTTP/2 TLS server that records each gRPC call's headers and refuses it as UNAUTHENTICATED (an API key check). */
async function startRefusingGrpcServer(): Promise<{
  address: string;
  calls: IncomingHttpHeaders[];
  close(): Promise<void>;
}> {
  const calls: IncomingHttpHeaders[] = [];
  const server: Http2SecureServer = createSecureServer({
    key: readFileSync(certs.file('server.key')),
    cert: readFileSync(certs.file('server.pem')),
  });
  server.on('stream', (stream, headers) => {
    calls.push(headers);
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'invalid API key' },
      { endStream: true },
    );
  });
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('error', () => undefined);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

describe('the TLS settings reach every connection', () => {
  const devServer = () => inject('temporalAddress');
  let proxy: Awaited<ReturnType<typeof startTlsProxy>>;
  let h: EmulatorHarness;
  const mtls = () => ({
    TEMPORAL_TLS_CA: certs.file('ca.pem'),
    TEMPORAL_TLS_CERT: certs.file('client.pem'),
    TEMPORAL_TLS_KEY: certs.file('client.key'),
    TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
  });
  /** the workers' private key (a key pair made for this run) */
  const sealKey = () => {
    const keys = { private: certs.file('seal-private.pem'), public: certs.file('seal-public.pem') };
    ensureDevKeyPair(keys.private, keys.public);
    return keys.private;
  };
  const settingsOf = (env: NodeJS.ProcessEnv): TemporalConnectionSettings => parseTemporalConnection(env);
  /** The worker's kind of connection (the native bridge), with the worker's options; the error's message, or 'ok'. */
  const nativeConnect = async (
    address: string,
    connection: TemporalConnectionSettings,
    namespace = 'default',
  ): Promise<string> => {
    try {
      const native = await NativeConnection.connect(temporalConnectOptions({ address, namespace, connection }));
      await native.workflowService.getSystemInfo({});
      await native.close();
      return 'ok';
    } catch (error) {
      return describeConnectFailure(error, { address, connection });
    }
  };

  beforeAll(async () => {
    if (!Runtime._instance) Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    proxy = await startTlsProxy(devServer());
    h = await startEmulator();
  });
  afterAll(async () => {
    await proxy?.close();
    await h?.close();
  });

  it('a client connects with mTLS through the proxy: SNI and client certificate as configured', async () => {
    const before = proxy.handshakes.length;
    const client = await createTemporalClient({
      address: proxy.address,
      namespace: 'default',
      connection: settingsOf(mtls()),
    });
    try {
      const described = await client.workflowService.describeNamespace({ namespace: 'default' });
      expect(described.namespaceInfo?.name).toBe('default');
    } finally {
      await client.connection.close();
    }
    const seen = proxy.handshakes.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toEqual({ servername: 'temporal.test', clientCertificate: 'ks-onboard-worker', authorized: true });
  });

  it('the worker process connects with mTLS through the proxy from its environment', { timeout: 120_000 }, async () => {
    const before = proxy.handshakes.length;
    const worker = startCli(['worker'], {
      ...mtls(),
      TEMPORAL_ADDRESS: proxy.address,
      KS_ONBOARD_TASK_QUEUE: `tls-${Date.now()}`,
      KS_ONBOARD_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      KUBESPHERE_HOST: h.emulator.url,
      KUBESPHERE_USERNAME: 'admin',
      KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
      KS_ONBOARD_SEAL_PRIVATE_KEYS: sealKey(),
      LOG_LEVEL: 'info',
    });
    try {
      await worker.waitFor(/worker ready/, 90_000);
      const seen = proxy.handshakes.slice(before);
      expect(seen.length).toBeGreaterThan(0);
      for (const handshake of seen)
        expect(handshake).toEqual({
          servername: 'temporal.test',
          clientCertificate: 'ks-onboard-worker',
          authorized: true,
        });
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });

  it('the native connection with the same options: through the proxy, and each wrong setting named', async () => {
    expect(await nativeConnect(proxy.address, settingsOf(mtls()))).toBe('ok');
    // TLS to the plain dev server
    expect(await nativeConnect(devServer(), settingsOf({ TEMPORAL_TLS: '1' }))).toMatch(
      /TLS is on \(TEMPORAL_TLS\) but the server at .* does not answer TLS: unset TEMPORAL_TLS/,
    );
    // the server's certificate is for temporal.test, not for the address
    expect(await nativeConnect(proxy.address, settingsOf({ ...mtls(), TEMPORAL_TLS_SERVER_NAME: '' }))).toMatch(
      /not for 127\.0\.0\.1: set TEMPORAL_TLS_SERVER_NAME/,
    );
    // another CA
    expect(
      await nativeConnect(proxy.address, settingsOf({ ...mtls(), TEMPORAL_TLS_CA: certs.file('other-ca.pem') })),
    ).toMatch(/not signed by the CA in TEMPORAL_TLS_CA/);
    // no TLS to a TLS server
    expect(await nativeConnect(proxy.address, settingsOf({}))).toMatch(/TLS is off: .*set TEMPORAL_TLS=1/);
  });

  it(
    'the worker process with TLS against the plain dev server stops at once, naming TEMPORAL_TLS',
    { timeout: 60_000 },
    async () => {
      const worker = startCli(['worker'], {
        TEMPORAL_ADDRESS: devServer(),
        TEMPORAL_TLS: '1',
        KS_ONBOARD_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
        KUBESPHERE_HOST: h.emulator.url,
        KUBESPHERE_USERNAME: 'admin',
        KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
        KS_ONBOARD_SEAL_PRIVATE_KEYS: sealKey(),
      });
      try {
        // a worker that connected (TLS ignored) would run on: it must stop by itself, at once
        const code = await Promise.race([
          worker.exited,
          new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000)),
        ]);
        expect(code).toBe(1);
        expect(worker.output()).toMatch(/cannot reach Temporal at .*does not answer TLS: unset TEMPORAL_TLS/);
      } finally {
        if (worker.child.exitCode === null) {
          worker.child.kill('SIGKILL');
          await worker.exited;
        }
      }
    },
  );

  it('a client with TLS against the plain dev server fails naming TEMPORAL_TLS', { timeout: 30_000 }, async () => {
    const attempt = createTemporalClient(
      {
        address: devServer(),
        namespace: 'default',
        connection: settingsOf({ TEMPORAL_TLS: '1', TEMPORAL_TLS_SERVER_NAME: 'temporal.test' }),
      },
      undefined,
      { connectTimeoutMs: 2_000 },
    );
    await expect(attempt).rejects.toThrow(/TLS is on \(TEMPORAL_TLS, TEMPORAL_TLS_SERVER_NAME\)/);
  });

  it('the API key reaches the server as a bearer, with the namespace; a refusal names the variable', async () => {
    const server = await startRefusingGrpcServer();
    const key = 'tcld-api-key-0123456789abcdef';
    const connection = settingsOf({
      TEMPORAL_API_KEY_FILE: certs.file('api-key'),
      TEMPORAL_TLS_CA: certs.file('ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    });
    try {
      const client = createTemporalClient({ address: server.address, namespace: 'ops.a1b2c', connection }, undefined, {
        connectTimeoutMs: 5_000,
      });
      const failure = await client.then(
        () => 'connected',
        (error: Error) => error.message,
      );
      expect(failure).toMatch(/refused the API key \(TEMPORAL_API_KEY_FILE\)/);
      expect(failure).not.toContain(key);
      const native = await nativeConnect(server.address, connection, 'ops.a1b2c');
      expect(native).toMatch(/refused the API key \(TEMPORAL_API_KEY_FILE\)/);
      expect(server.calls.length).toBeGreaterThanOrEqual(2);
      for (const call of server.calls) {
        expect(call.authorization).toBe(`Bearer ${key}`);
        expect(call['temporal-namespace']).toBe('ops.a1b2c');
      }
    } finally {
      await server.close();
    }
  });
});
