import { describe, expect, it } from 'vitest';
import { batchProofFields, importBatchInputSchema } from './batch.js';

describe('batchProofFields', () => {
  it('binds the same rows to the same digest whatever order their keys came in (the worker sees them parsed)', () => {
    const asRead = {
      batchId: 'b-1',
      contentDigest: 'd',
      rows: 1,
      people: [
        {
          lines: [2],
          placements: [{ line: 2, workspace: 'a' }],
          username: 'ann',
          email: 'ann@example.com',
          sealedPassword: 'ks-sealed:v1:x:y',
          globalRole: 'platform-regular',
        },
      ],
      parts: [],
    };
    const parsed = importBatchInputSchema.parse({ ...asRead, source: { kind: 'requester', proof: 'ks-sealed:v2:p' } });
    expect(Object.keys(parsed.people[0]!)).not.toEqual(Object.keys(asRead.people[0]!));
    expect(batchProofFields(parsed)).toEqual(batchProofFields(asRead));
  });

  it('changes with any row, password or option', () => {
    const base = { batchId: 'b-1', contentDigest: 'd', rows: 1, people: [], parts: [] };
    const fields = batchProofFields(base);
    expect(batchProofFields({ ...base, concurrency: 5 })).not.toEqual(fields);
    expect(batchProofFields({ ...base, rows: 2 })).not.toEqual(fields);
    expect(batchProofFields({ ...base, parts: [{ workflowId: 'p', digest: 'x', people: 1 }] })).not.toEqual(fields);
  });
});
