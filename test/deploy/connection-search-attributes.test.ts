import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDevKeyPair } from '../../src/codec/seal.js';
import {
  ensureSearchAttributes,
  searchAttributeSpecs,
  SearchAttributesError,
  type SearchAttributeServices,
} from '../../src/temporal/search-attributes.js';
import { startCli } from '../helpers/cli.js';
import { ADMIN_PASSWORD, eventually, startEmulator, type EmulatorHarness } from '../helpers/emulator.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;
const KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
const KEYWORD_LIST = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST;

let connection: Connection;
let h: EmulatorHarness;
beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  h = await startEmulator();
});
afterAll(async () => {
  await connection.close();
  await h.close();
});

/** A namespace of its own on the run's dev server (SQLite visibility: SQL's per-namespace slots), ready for calls. */
async function freshNamespace(attributes: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {}) {
  const namespace = `sa-${randomBytes(5).toString('hex')}`;
  await connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  await eventually(() => connection.workflowService.describeNamespace({ namespace }), 20_000);
  if (Object.keys(attributes).length)
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: attributes });
  return namespace;
}

/** What a worker sees on Temporal Cloud: the operator service refuses it; the workflow service answers. */
function asOnCloud(): SearchAttributeServices {
  const refuse = () =>
    Promise.reject(
      Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), {
        code: 7,
        details: 'Request unauthorized.',
      }),
    );
  return {
    operatorService: { listSearchAttributes: refuse, addSearchAttributes: refuse },
    workflowService: connection.workflowService,
  };
}

async function refusal(attempt: Promise<unknown>): Promise<SearchAttributesError> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SearchAttributesError);
  return error as SearchAttributesError;
}

describe('search attributes at worker start', () => {
  it('registers the missing ones where it may, and leaves them alone the next time', async () => {
    const namespace = await freshNamespace({ OnboardingState: KEYWORD });
    const added = await ensureSearchAttributes(connection, namespace);
    expect(added.sort()).toEqual(
      searchAttributeSpecs()
        .map((a) => a.name)
        .filter((n) => n !== 'OnboardingState')
        .sort(),
    );
    expect(await ensureSearchAttributes(connection, namespace)).toEqual([]);
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    expect(listed.customAttributes?.OnboardingWorkspace).toBe(KEYWORD_LIST);
  });

  it('where registration is not permitted (Temporal Cloud): finds what exists by query and names each missing one with its type and the commands', async () => {
    const namespace = await freshNamespace({
      OnboardingUsername: KEYWORD,
      OnboardingState: KEYWORD,
      OnboardingWorkspace: KEYWORD_LIST,
    });
    const error = await refusal(ensureSearchAttributes(asOnCloud(), namespace));
    expect(error.missing).toEqual([
      { name: 'OnboardingBatchId', type: 'Keyword' },
      { name: 'OnboardingSource', type: 'Keyword' },
      { name: 'OnboardingEventId', type: 'Keyword' },
    ]);
    expect(error.message).toContain(
      `namespace ${namespace} (TEMPORAL_NAMESPACE) lacks the search attributes OnboardingBatchId (Keyword), OnboardingSource (Keyword), OnboardingEventId (Keyword)`,
    );
    expect(error.message).toMatch(/may not register them \(the operator service refused: Request unauthorized\./);
    expect(error.message).toContain(
      `temporal operator search-attribute create --namespace ${namespace} --name OnboardingBatchId --name OnboardingSource --name OnboardingEventId --type Keyword`,
    );
    expect(error.message).toContain(
      `tcld namespace search-attributes add --namespace ${namespace} --search-attribute OnboardingBatchId=Keyword --search-attribute OnboardingSource=Keyword --search-attribute OnboardingEventId=Keyword`,
    );
    expect(error.message).toMatch(/Cloud UI/);
    // once they are added (as an operator would), the same worker starts
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: { OnboardingBatchId: KEYWORD, OnboardingSource: KEYWORD, OnboardingEventId: KEYWORD },
    });
    await eventually(async () => expect(await ensureSearchAttributes(asOnCloud(), namespace)).toEqual([]), 20_000);
  });

  it('SQL visibility with no free Keyword slot: the real registration is refused and each attribute is named', async () => {
    const fillers = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`Filler${i}`, KEYWORD]));
    const namespace = await freshNamespace(fillers);
    const error = await refusal(ensureSearchAttributes(connection, namespace));
    expect(error.missing.map((a) => `${a.name} (${a.type})`)).toEqual([
      'OnboardingUsername (Keyword)',
      'OnboardingWorkspace (KeywordList)',
      'OnboardingBatchId (Keyword)',
      'OnboardingState (Keyword)',
      'OnboardingSource (Keyword)',
      'OnboardingEventId (Keyword)',
    ]);
    expect(error.message).toMatch(/cannot have more than 10 search attribute of type Keyword/);
    expect(error.message).toMatch(/SQL visibility allows 10 Keyword and 3 KeywordList attributes per namespace/);
    expect(error.message).toContain(`--name OnboardingWorkspace --type KeywordList`);
  });

  it('an attribute of another type stops the worker, naming both types', async () => {
    const namespace = await freshNamespace({ OnboardingWorkspace: KEYWORD });
    const error = await refusal(ensureSearchAttributes(connection, namespace));
    expect(error.message).toMatch(
      /has OnboardingWorkspace as Keyword, not KeywordList; an attribute cannot change its type/,
    );
  });

  it(
    'the worker process stops at start (exit 2) instead of running workflows that cannot upsert',
    { timeout: 90_000 },
    async () => {
      const fillers = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`Filler${i}`, KEYWORD]));
      const namespace = await freshNamespace(fillers);
      const keys = mkdtempSync(join(tmpdir(), 'ks-keys-'));
      ensureDevKeyPair(join(keys, 'private.pem'), join(keys, 'public.pem'));
      const worker = startCli(['worker'], {
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_NAMESPACE: namespace,
        KS_ONBOARD_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
        KUBESPHERE_HOST: h.emulator.url,
        KUBESPHERE_USERNAME: 'admin',
        KUBESPHERE_PASSWORD: ADMIN_PASSWORD,
        KS_ONBOARD_SEAL_PRIVATE_KEYS: join(keys, 'private.pem'),
      });
      // a worker that only warned would run on: it must stop by itself
      const code = await Promise.race([
        worker.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000)),
      ]);
      const output = worker.output();
      if (worker.child.exitCode === null) {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
      expect(code).toBe(2);
      expect(output).toContain(
        `namespace ${namespace} (TEMPORAL_NAMESPACE) lacks the search attributes OnboardingUsername (Keyword)`,
      );
      expect(output).toContain('temporal operator search-attribute create');
      expect(output).not.toMatch(/worker ready/);
    },
  );
});
