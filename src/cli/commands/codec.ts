import type { Command } from 'commander';
import { codecConfig, kubesphereHost } from '../../config.js';
import { startCodecServer, type CodecAuth } from '../../codec/codec-server.js';
import { requireKeyRing } from '../../codec/codec-config.js';
import { generateKeyRingEntry, PayloadEncryptionCodec } from '../../codec/payload-codec.js';
import { KubeSphereClient } from '../../kubesphere/client.js';
import { createLogger } from '../logger.js';

export function registerCodec(program: Command): void {
  program
    .command('codec-key')
    .description('print a new payload key (key-id:base64) for KS_ONBOARD_CODEC_KEYS; put it first to rotate')
    .option('--id <id>', 'the key id (default local-<date>)')
    .action((flags: { id?: string }) => {
      process.stdout.write(`${generateKeyRingEntry(flags.id)}\n`);
    });

  program
    .command('codec-server')
    .description("serve Temporal's remote codec protocol (/encode, /decode) so the Web UI shows decrypted payloads")
    .addHelpText(
      'after',
      `
Environment:
  KS_ONBOARD_CODEC_KEYS (required), KS_ONBOARD_CODEC_PORT (default 8888), KS_ONBOARD_CODEC_HOST (default 127.0.0.1)
  KS_ONBOARD_CODEC_CORS_ORIGIN (the Web UI's origin, default http://localhost:8233)
  KS_ONBOARD_CODEC_AUTH: none (loopback only) | kubesphere (the bearer the Web UI forwards, checked with
    KubeSphere's /oauth/userinfo: KUBESPHERE_HOST; KS_ONBOARD_CODEC_ALLOWED_USERS restricts who) | token
    (KS_ONBOARD_CODEC_TOKEN, for scripts)
Passwords stay sealed for the workers: decoding never shows one.`,
    )
    .action(async () => {
      const log = createLogger();
      const config = codecConfig();
      const codec = new PayloadEncryptionCodec(requireKeyRing(config));
      let kubesphere: KubeSphereClient | undefined;
      let auth: CodecAuth = { mode: 'none' };
      if (config.auth === 'token') auth = { mode: 'token', token: config.token! };
      if (config.auth === 'kubesphere') {
        // Only identities are asked of KubeSphere, with the caller's own token: no account of ours is needed.
        // (The client's own credentials are never used: whoAmI sends the caller's bearer.)
        kubesphere = new KubeSphereClient({ baseUrl: kubesphereHost(), credentials: { token: 'not-used' } });
        const ks = kubesphere;
        auth = {
          mode: 'kubesphere',
          whoAmI: (token) => ks.whoAmI(token),
          ...(config.allowedUsers ? { allowedUsers: config.allowedUsers } : {}),
        };
      }
      const server = await startCodecServer(
        { codec, corsOrigin: config.corsOrigin, auth, log },
        { port: config.port, host: config.host },
      );
      log.info(
        { url: server.url, auth: config.auth, corsOrigin: config.corsOrigin, keys: codec.keyRing.ids },
        'codec server ready',
      );
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      await server.close();
      await kubesphere?.close();
      log.info('codec server stopped');
    });
}
