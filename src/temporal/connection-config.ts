import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { describeFileError } from '../files.js';

/**
 * How every Temporal connection of a process is secured: TLS (with the system's CAs or a given CA), mTLS (a client
 * certificate and key), a Temporal Cloud API key. Parsed from the environment the caller passes (src/config.ts owns
 * process.env); every file is read and checked here, at start, so a wrong path or a wrong file fails naming its
 * variable before any connection is tried. No message quotes a key or a certificate.
 */

/** A PEM file as read: where it came from (for messages and `config check`) and its bytes for the SDK. */
export interface PemFile {
  variable: string;
  path: string;
  pem: Buffer;
  /** e.g. `CN=worker, valid until 2027-01-31T00:00:00.000Z` (certificates only) */
  summary?: string;
}

export interface TlsSettings {
  /** the CA that signed the server's certificate; absent: the system's CAs (Temporal Cloud) */
  ca?: PemFile;
  /** mTLS: the client's certificate and private key */
  client?: { cert: PemFile; key: PemFile };
  /** the name checked against the server's certificate (and sent as SNI) instead of TEMPORAL_ADDRESS's host */
  serverName?: string;
  /** the variables that turned TLS on, for messages */
  enabledBy: string[];
}

export interface ApiKeySetting {
  variable: 'TEMPORAL_API_KEY' | 'TEMPORAL_API_KEY_FILE';
  /** the file it was read from (TEMPORAL_API_KEY_FILE) */
  path?: string;
  key: string;
}

export interface TemporalConnectionSettings {
  /** false: plaintext (a local dev server, or TLS ended by a sidecar) */
  tls: false | TlsSettings;
  apiKey?: ApiKeySetting;
}

/** What both `Connection.connect` (client) and `NativeConnection.connect` (worker) take. */
export interface TemporalConnectOptions {
  address: string;
  tls?: {
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
    serverNameOverride?: string;
  };
  apiKey?: string;
  metadata?: Record<string, string>;
}

/**
 * Our variables, and the names the `temporal` CLI reads for the same files (accepted too, so that one environment
 * configures both; setting both names to different files is an error).
 */
export const TEMPORAL_CONNECTION_VARIABLES = [
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_API_KEY',
  'TEMPORAL_API_KEY_FILE',
] as const;
type Variable = (typeof TEMPORAL_CONNECTION_VARIABLES)[number];
export const TEMPORAL_CLI_ALIASES: Partial<Record<Variable, string>> = {
  TEMPORAL_TLS_CA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
};

/** Far above any certificate chain or key: a bigger file is the wrong file. */
const MAX_BYTES = 1024 * 1024;
// Printable ASCII without spaces: what fits after `Bearer ` in a header.
const HEADER_TOKEN = /^[\x21-\x7e]+$/;
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

const flag = z
  .enum(['1', '0', 'true', 'false'], { error: 'must be 1 or 0 (true or false)' })
  .optional()
  .transform((value) => (value === undefined ? undefined : value === '1' || value === 'true'));

const schema = z
  .object({
    TEMPORAL_TLS: flag,
    TEMPORAL_TLS_CA: z.string().optional(),
    TEMPORAL_TLS_CERT: z.string().optional(),
    TEMPORAL_TLS_KEY: z.string().optional(),
    TEMPORAL_TLS_SERVER_NAME: z
      .string()
      .regex(HOST_NAME, 'must be a host name, the one in the server certificate (e.g. temporal.example.com)')
      .optional(),
    TEMPORAL_API_KEY: z
      .string()
      .regex(HEADER_TOKEN, 'must be the key alone: printable ASCII without spaces, no "Bearer " prefix')
      .optional(),
    TEMPORAL_API_KEY_FILE: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    const problem = (variable: Variable, message: string) =>
      ctx.addIssue({ code: 'custom', path: [variable], message });
    if (env.TEMPORAL_TLS_CERT !== undefined && env.TEMPORAL_TLS_KEY === undefined)
      problem('TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CERT is set: mTLS needs the private key of that certificate too');
    if (env.TEMPORAL_TLS_KEY !== undefined && env.TEMPORAL_TLS_CERT === undefined)
      problem('TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY is set: mTLS needs the certificate of that key too');
    if (env.TEMPORAL_API_KEY !== undefined && env.TEMPORAL_API_KEY_FILE !== undefined)
      problem('TEMPORAL_API_KEY_FILE', 'set TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE, not both');
    if (env.TEMPORAL_TLS === false) {
      const needing = (['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_SERVER_NAME'] as const).filter(
        (name) => env[name] !== undefined,
      );
      if (needing.length)
        problem('TEMPORAL_TLS', `is 0, but ${needing.join(', ')} ${needing.length > 1 ? 'are' : 'is'} set: unset them`);
      if (env.TEMPORAL_API_KEY !== undefined || env.TEMPORAL_API_KEY_FILE !== undefined)
        problem('TEMPORAL_TLS', 'is 0, but an API key is never sent without TLS: unset TEMPORAL_TLS or the API key');
    }
  });

/**
 * The connection settings of this environment. Throws a ConfigError naming every bad variable at once: a file that
 * does not exist or cannot be read, a file that is not PEM (or not what its variable holds), an expired certificate, a
 * certificate without its key, a key that does not belong to the certificate.
 */
export function parseTemporalConnection(env: NodeJS.ProcessEnv): TemporalConnectionSettings {
  const { input, names, conflicts } = resolveNames(env);
  const result = schema.safeParse(input);
  const problems = [...conflicts];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const variable = issue.path[0] as Variable | undefined;
      problems.push(`${variable ? names[variable] : 'environment'}: ${issue.message}`);
    }
    throw new ConfigError(`bad configuration: ${problems.join('; ')}`);
  }
  const parsed = result.data;
  const read = (variable: 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY', check: PemCheck) => {
    const path = parsed[variable];
    if (path === undefined) return undefined;
    const file = readPem(names[variable], path, check);
    if (typeof file === 'string') {
      problems.push(file);
      return undefined;
    }
    return file;
  };
  const ca = read('TEMPORAL_TLS_CA', 'ca');
  const cert = read('TEMPORAL_TLS_CERT', 'cert');
  const key = read('TEMPORAL_TLS_KEY', 'key');
  if (cert && key && !keyBelongsTo(cert, key))
    problems.push(
      `${names.TEMPORAL_TLS_KEY}: ${key.path} is not the private key of the certificate in ${names.TEMPORAL_TLS_CERT} (${cert.path})`,
    );
  let apiKey: ApiKeySetting | undefined;
  if (parsed.TEMPORAL_API_KEY !== undefined) apiKey = { variable: 'TEMPORAL_API_KEY', key: parsed.TEMPORAL_API_KEY };
  if (parsed.TEMPORAL_API_KEY_FILE !== undefined) {
    const path = parsed.TEMPORAL_API_KEY_FILE;
    const text = readText('TEMPORAL_API_KEY_FILE', path, 'a file holding the Temporal Cloud API key');
    const key = text.ok ? text.text.trim() : '';
    if (!text.ok) problems.push(text.problem);
    else if (!key) problems.push(`TEMPORAL_API_KEY_FILE: ${path} is empty (expected a file holding the API key)`);
    else if (!HEADER_TOKEN.test(key))
      problems.push(
        `TEMPORAL_API_KEY_FILE: ${path} must hold the key alone: printable ASCII without spaces, no "Bearer " prefix`,
      );
    else apiKey = { variable: 'TEMPORAL_API_KEY_FILE', path, key };
  }
  if (problems.length) throw new ConfigError(`bad configuration: ${problems.join('; ')}`);

  const enabledBy = [
    ...(parsed.TEMPORAL_TLS ? ['TEMPORAL_TLS'] : []),
    ...(ca ? [names.TEMPORAL_TLS_CA] : []),
    ...(cert ? [names.TEMPORAL_TLS_CERT] : []),
    ...(parsed.TEMPORAL_TLS_SERVER_NAME ? ['TEMPORAL_TLS_SERVER_NAME'] : []),
    ...(apiKey ? [apiKey.variable] : []),
  ];
  const tls: false | TlsSettings =
    enabledBy.length === 0
      ? false
      : {
          ...(ca ? { ca } : {}),
          ...(cert && key ? { client: { cert, key } } : {}),
          ...(parsed.TEMPORAL_TLS_SERVER_NAME ? { serverName: parsed.TEMPORAL_TLS_SERVER_NAME } : {}),
          enabledBy,
        };
  return { tls, ...(apiKey ? { apiKey } : {}) };
}

/**
 * The options of `Connection.connect`, `Connection.lazy` and `NativeConnection.connect` for `config`: the address,
 * TLS, the API key, and with an API key the namespace in the `temporal-namespace` header (Temporal Cloud's regional
 * API-key endpoints route by it). Without settings (the embedded dev server): plaintext.
 */
export function temporalConnectOptions(config: {
  address: string;
  namespace: string;
  connection?: TemporalConnectionSettings | undefined;
}): TemporalConnectOptions {
  const settings = config.connection;
  const options: TemporalConnectOptions = { address: config.address };
  if (settings?.tls) {
    const { ca, client, serverName } = settings.tls;
    options.tls = {
      ...(ca ? { serverRootCACertificate: ca.pem } : {}),
      ...(client ? { clientCertPair: { crt: client.cert.pem, key: client.key.pem } } : {}),
      ...(serverName ? { serverNameOverride: serverName } : {}),
    };
  }
  if (settings?.apiKey) {
    options.apiKey = settings.apiKey.key;
    options.metadata = { 'temporal-namespace': config.namespace };
  }
  return options;
}

/** One line on how the connection is secured, for logs and `config check`: never a key. */
export function describeConnectionSecurity(settings: TemporalConnectionSettings | undefined): string {
  if (!settings?.tls) return 'plaintext (no TLS)';
  const { ca, client, serverName } = settings.tls;
  const parts = [
    `TLS (${ca ? `CA ${ca.path}` : "the system's CAs"}${serverName ? `, server name ${serverName}` : ''})`,
  ];
  if (client)
    parts.push(`client certificate ${client.cert.path}${client.cert.summary ? ` [${client.cert.summary}]` : ''}`);
  if (settings.apiKey)
    parts.push(`API key from ${settings.apiKey.variable} (${settings.apiKey.key.length} characters)`);
  return parts.join(', ');
}

/** gRPC status codes we explain. */
const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;

/**
 * A failed connection's message with what to check, naming the variables: the SDK's own words ("Failed to connect
 * before the deadline", a rustls error) rarely say that TLS was on and the server spoke none, or the reverse.
 */
export function describeConnectFailure(
  error: unknown,
  config: { address: string; connection?: TemporalConnectionSettings | undefined },
): string {
  // The client wraps the server's answer: `Failed to connect to Temporal server`, its gRPC error as the cause.
  const chain: unknown[] = [];
  for (let e: unknown = error; e != null && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  const message = chain.map((e) => (e instanceof Error ? e.message : String(e))).join(': ');
  const code = chain.map((e) => (e as { code?: unknown }).code).find((c) => typeof c === 'number');
  const settings = config.connection;
  const tls = settings?.tls;
  const on = tls ? tls.enabledBy.join(', ') : '';
  let hint: string;
  if (
    code === UNAUTHENTICATED ||
    code === PERMISSION_DENIED ||
    /unauthenticated|permission.?denied|unauthorized|authentication credentials|not authorized/i.test(message)
  )
    hint = settings?.apiKey
      ? `the server refused the API key (${settings.apiKey.variable}): is it valid, not expired, and allowed on this namespace?`
      : tls && tls.client
        ? `the server refused the client certificate (${tls.client.cert.variable}): is its CA trusted by the namespace?`
        : 'the server wants credentials: set TEMPORAL_API_KEY (or TEMPORAL_API_KEY_FILE), or TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY for mTLS';
  else if (/ConnectionRefused|ECONNREFUSED|Connection refused/i.test(message))
    hint = `nothing answers at TEMPORAL_ADDRESS=${config.address}`;
  else if (/dns error|ENOTFOUND|EAI_AGAIN|failed to lookup|Name or service not known/i.test(message))
    hint = `the host of TEMPORAL_ADDRESS=${config.address} is not known`;
  else if (!tls)
    hint =
      'TLS is off: if the server requires TLS (Temporal Cloud does), set TEMPORAL_TLS=1, or TEMPORAL_TLS_CA for a private CA, ' +
      'and TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY (mTLS) or TEMPORAL_API_KEY';
  else if (
    /InvalidContentType|wrong version number|WRONG_VERSION_NUMBER|packet length too long|InvalidMessage/i.test(message)
  )
    hint = `TLS is on (${on}) but the server at ${config.address} does not answer TLS: unset TEMPORAL_TLS and the TEMPORAL_TLS_* variables for a server without TLS, or check TEMPORAL_ADDRESS`;
  else if (/NotValidForName|does not match|altname|hostname mismatch|CertNotValidForName/i.test(message))
    hint = `the server's certificate is not for ${tls.serverName ?? config.address.replace(/:\d+$/, '')}: set TEMPORAL_TLS_SERVER_NAME to the name it carries`;
  else if (
    /UnknownIssuer|unable to (verify|get local issuer)|self.signed|certificate verify failed|BadSignature|invalid peer certificate/i.test(
      message,
    )
  )
    hint = tls.ca
      ? `the server's certificate is not signed by the CA in ${tls.ca.variable} (${tls.ca.path})`
      : "the server's certificate is not signed by a CA this system trusts: set TEMPORAL_TLS_CA to its CA";
  else if (
    /CertificateRequired|certificate required|BadCertificate|bad certificate|handshake failure|alert/i.test(message)
  )
    hint = tls.client
      ? `the server refused the client certificate in ${tls.client.cert.variable} (${tls.client.cert.path})`
      : 'the server asks for a client certificate (mTLS): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY';
  else
    hint =
      `TLS is on (${on}): if the server has no TLS, unset it; otherwise check that ${tls.ca ? tls.ca.variable : 'TEMPORAL_TLS_CA'} ` +
      `signed the server's certificate and that TEMPORAL_TLS_SERVER_NAME (or the host of TEMPORAL_ADDRESS) is the name in it`;
  return `${message} (${hint})`;
}

// ---- files ----------------------------------------------------------------------------------------------

type PemCheck = 'ca' | 'cert' | 'key';
const EXPECTED: Record<PemCheck, string> = {
  ca: "the PEM certificate of the CA that signed the Temporal server's certificate",
  cert: "this client's PEM certificate (mTLS)",
  key: "the PEM private key of this client's certificate, unencrypted",
};

/** The variable each canonical name was given as, the input under canonical names, and conflicting pairs. */
function resolveNames(env: NodeJS.ProcessEnv) {
  const names = Object.fromEntries(TEMPORAL_CONNECTION_VARIABLES.map((name) => [name, name])) as Record<
    Variable,
    string
  >;
  const input: Partial<Record<Variable, string>> = {};
  const conflicts: string[] = [];
  // An empty variable is an unset one (a template's `FOO=` line).
  const valueOf = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  for (const name of TEMPORAL_CONNECTION_VARIABLES) {
    const ours = valueOf(name);
    const alias = TEMPORAL_CLI_ALIASES[name];
    const theirs = alias ? valueOf(alias) : undefined;
    if (ours !== undefined && theirs !== undefined && ours !== theirs)
      conflicts.push(`${name}: ${alias} (the temporal CLI's name) names another file: set one of them`);
    if (ours === undefined && theirs !== undefined && alias) names[name] = alias;
    const value = ours ?? theirs;
    if (value !== undefined) input[name] = value;
  }
  return { input, names, conflicts };
}

function readText(
  variable: string,
  path: string,
  expected: string,
): { ok: true; text: string } | { ok: false; problem: string } {
  const fail = (why: string) => ({ ok: false as const, problem: `${variable}: ${path} ${why} (expected ${expected})` });
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    return fail(describeFileError(error as NodeJS.ErrnoException));
  }
  if (stats.isDirectory()) return fail('is a directory');
  if (stats.isFile() && stats.size > MAX_BYTES) return fail(`is ${stats.size} bytes, too large`);
  try {
    return { ok: true, text: readFileSync(path, 'utf8') };
  } catch (error) {
    return fail(describeFileError(error as NodeJS.ErrnoException));
  }
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The file checked for what its variable holds; a string is the problem, naming the variable and the path. */
function readPem(variable: string, path: string, check: PemCheck, now = Date.now()): PemFile | string {
  const text = readText(variable, path, EXPECTED[check]);
  if (!text.ok) return text.problem;
  const fail = (why: string) => `${variable}: ${path} ${why} (expected ${EXPECTED[check]})`;
  const pem = text.text;
  if (check === 'key') {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m.test(pem))
      return fail('is encrypted with a passphrase; the SDK needs it unencrypted (readable by this process only)');
    if (/-----BEGIN CERTIFICATE-----/.test(pem) && !/PRIVATE KEY-----/.test(pem))
      return fail('is a certificate, not a private key');
    try {
      createPrivateKey(pem);
    } catch {
      return fail('is not a PEM private key');
    }
    return { variable, path, pem: Buffer.from(pem) };
  }
  if (/PRIVATE KEY-----/.test(pem))
    return fail(
      check === 'ca'
        ? 'holds a private key; give the CA certificate'
        : 'holds a private key; give the key in TEMPORAL_TLS_KEY',
    );
  const blocks = pem.match(CERT_BLOCK) ?? [];
  if (!blocks.length) return fail('is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)');
  const certificates: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      return fail(`is not a PEM certificate (certificate ${index + 1} of ${blocks.length} cannot be read)`);
    }
  }
  // The leaf (first) certificate is the one presented or trusted first; an expired one fails every handshake.
  const leaf = certificates[0]!;
  const validTo = Date.parse(leaf.validTo);
  const validFrom = Date.parse(leaf.validFrom);
  if (Number.isFinite(validTo) && validTo < now)
    return fail(`holds a certificate (${subjectOf(leaf)}) that expired on ${new Date(validTo).toISOString()}`);
  if (Number.isFinite(validFrom) && validFrom > now)
    return fail(
      `holds a certificate (${subjectOf(leaf)}) that is valid only from ${new Date(validFrom).toISOString()}`,
    );
  return {
    variable,
    path,
    pem: Buffer.from(pem),
    summary: `${subjectOf(leaf)}, valid until ${Number.isFinite(validTo) ? new Date(validTo).toISOString() : leaf.validTo}`,
  };
}

function subjectOf(certificate: X509Certificate): string {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1];
  return cn ? `CN=${cn}` : certificate.subject.replace(/\n/g, ', ');
}

function keyBelongsTo(cert: PemFile, key: PemFile): boolean {
  try {
    const leaf = new X509Certificate(cert.pem.toString('utf8').match(CERT_BLOCK)![0]);
    const privateKey: KeyObject = createPrivateKey(key.pem);
    return leaf.checkPrivateKey(privateKey);
  } catch {
    return false;
  }
}
