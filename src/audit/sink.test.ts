import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AUDIT_SCHEMA, type AuditEvent } from './events.js';
import { openAuditSink, parseAuditSetting } from './sink.js';

const event = (seq: number): AuditEvent => ({
  schema: AUDIT_SCHEMA,
  id: `onboard-alice/run-1/${seq}`,
  type: 'request.accepted',
  decision: 'accepted',
  time: '2026-01-02T03:04:00.000Z',
  recordedAt: '2026-01-02T03:04:00.000Z',
  workflow: { id: 'onboard-alice', runId: 'run-1', type: 'onboardUser', namespace: 'default', taskQueue: 'q' },
  request: 'onboarding',
  subject: 'alice',
  who: 'ops-admin',
});

describe('KS_ONBOARD_AUDIT', () => {
  it('is stdout by default, file:<path> or off', () => {
    expect(parseAuditSetting(undefined)).toEqual({ ok: true, setting: { kind: 'stdout' } });
    expect(parseAuditSetting('off')).toEqual({ ok: true, setting: { kind: 'off' } });
    expect(parseAuditSetting('file:/var/log/audit.jsonl')).toEqual({
      ok: true,
      setting: { kind: 'file', path: '/var/log/audit.jsonl' },
    });
    expect(parseAuditSetting('file:')).toMatchObject({ ok: false });
    expect(parseAuditSetting('syslog')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('off, stdout or file:'),
    });
  });
});

describe('audit sinks', () => {
  it('appends one JSON line per event to a file, every write kept and in order, and survives a reopen', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ks-audit-')), 'nested', 'audit.jsonl');
    const sink = await openAuditSink({ kind: 'file', path });
    // written at once: they share syncs, none is lost or interleaved
    await Promise.all(Array.from({ length: 50 }, (_, i) => sink!.write(event(i + 1))));
    await sink!.close();
    const again = await openAuditSink({ kind: 'file', path });
    await again!.write(event(51));
    await again!.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(51);
    expect(lines.map((l) => (JSON.parse(l) as AuditEvent).id)).toEqual(
      Array.from({ length: 51 }, (_, i) => `onboard-alice/run-1/${i + 1}`),
    );
    await expect(sink!.write(event(52))).rejects.toThrow(/closed/);
  });

  it('a file that cannot be opened fails the start, naming the variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-audit-'));
    await expect(openAuditSink({ kind: 'file', path: dir })).rejects.toThrow(/KS_ONBOARD_AUDIT=file:/);
  });

  it('writes JSON lines on stdout, told from log lines by their schema', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const sink = await openAuditSink({ kind: 'stdout' }, out);
    await sink!.write(event(1));
    expect(JSON.parse(chunks.join(''))).toMatchObject({ schema: 'ks-onboard.audit/v1', id: 'onboard-alice/run-1/1' });
    expect(await openAuditSink({ kind: 'off' })).toBeUndefined();
  });
});
