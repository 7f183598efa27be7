import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateKeyRingEntry } from './payload-codec.js';

/** A local payload key ring for dev and demo, made once per data directory (like the dev sealing keys). */
export function ensureDevCodecKeys(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const ring = generateKeyRingEntry();
  writeFileSync(path, `${ring}\n`, { mode: 0o600 });
  return ring;
}
