import { ConfigError } from '../config.js';
import { parseAuditSetting, type AuditSetting } from './sink.js';

/** KS_ONBOARD_AUDIT: `stdout` (default), `file:<path>` or `off` (src/audit/sink.ts). */
export function parseAuditConfig(env: NodeJS.ProcessEnv): AuditSetting {
  const parsed = parseAuditSetting(env.KS_ONBOARD_AUDIT);
  if (!parsed.ok) throw new ConfigError(`bad configuration: KS_ONBOARD_AUDIT: ${parsed.reason}`);
  return parsed.setting;
}
