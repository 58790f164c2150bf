import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auditEntry,
  auditHash,
  type ChainLink,
  canonicalJson,
  FIRST_SEQ,
  GENESIS_HASH,
  sealAuditRow,
  verifyChain,
} from '../../src/security/audit-chain';

type Row = ChainLink & Record<string, unknown>;

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function buildChain(entries: Record<string, unknown>[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const fields of entries) {
    const prev = rows.at(-1) ?? null;
    rows.push(await sealAuditRow(prev, fields));
  }
  return rows;
}

const auditFields = (i: number, extra: Record<string, unknown> = {}) => ({
  id: `aud_${i}`,
  tenantId: 'ten_1',
  storefrontId: i % 2 ? 'sf_1' : null,
  chain: 'sf_1',
  actorType: 'operator',
  actorId: 'op_1',
  action: 'flag.update',
  targetType: 'flag',
  targetId: `flag_${i}`,
  before: { enabled: false, rollout: { percent: 10, segments: ['a', 'b'] } },
  after: { enabled: true, rollout: { percent: 20, segments: ['a', 'b'] } },
  reason: null,
  requestId: `req_${i}`,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  ...extra,
});

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order, adds no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [3, 1, { d: null, c: 'x' }], c: { z: true, y: false } })).toBe(
      '{"a":[3,1,{"c":"x","d":null}],"b":1,"c":{"y":false,"z":true}}',
    );
  });

  it('sorts by UTF-16 code units (RFC 8785) and escapes like JSON.stringify', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, '😀': 4, '\u2028': 5, '': 6 })).toBe(
      '{"":6,"Z":3,"z":2,"é":1,"\u2028":5,"😀":4}',
    );
    expect(canonicalJson('line\nbreak "quoted" \\')).toBe('"line\\nbreak \\"quoted\\" \\\\"');
  });

  it('writes numbers as ECMAScript does', () => {
    expect(canonicalJson([0, -0, 1.5, 1e21, 1e-7, 100, -3])).toBe('[0,0,1.5,1e+21,1e-7,100,-3]');
  });

  it('writes Dates as ISO strings', () => {
    expect(canonicalJson({ at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)) })).toBe(
      '{"at":"2026-01-02T03:04:05.006Z"}',
    );
  });

  it('does not depend on key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        // And it is valid JSON that parses back to the same value.
        expect(canonicalJson(JSON.parse(canonicalJson(obj)))).toBe(canonicalJson(obj));
      }),
    );
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity in an array', [1, Number.NEGATIVE_INFINITY]],
    ['nested NaN', { a: { b: Number.NaN } }],
    ['undefined', undefined],
    ['bigint', 1n],
    ['function', () => 1],
    ['symbol', Symbol('x')],
    ['Map', new Map([['a', 1]])],
    ['Set', new Set([1])],
    [
      'class instance',
      new (class Point {
        x = 1;
      })(),
    ],
    ['invalid Date', new Date(Number.NaN)],
  ])('rejects %s', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it('treats undefined as JSON (and jsonb) does: dropped from objects, null in arrays', () => {
    const value = { a: undefined, b: [undefined, 1], c: { d: undefined } };
    // biome-ignore lint/suspicious/noSparseArray: a hole is the case under test
    const sparse = [1, , 3];
    expect(canonicalJson(value)).toBe('{"b":[null,1],"c":{}}');
    expect(canonicalJson(JSON.parse(JSON.stringify(value)))).toBe(canonicalJson(value));
    expect(canonicalJson(sparse)).toBe('[1,null,3]');
  });

  it('rejects cycles but allows shared (non-cyclic) references', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => canonicalJson(a)).toThrow(TypeError);
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 1;
    bare.a = 2;
    expect(canonicalJson(bare)).toBe('{"a":2,"b":1}');
  });
});

describe('auditHash', () => {
  it('is sha256(prevHash + "\\n" + canonical(entry)) in lower hex', async () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    const entry = { b: 2, a: 1 };
    expect(await auditHash(GENESIS_HASH, entry)).toBe(
      await sha256Hex(`${'0'.repeat(64)}\n{"a":1,"b":2}`),
    );
  });

  it('refuses a prevHash that is not 64 lower-case hex digits', async () => {
    await expect(auditHash('ABC', {})).rejects.toThrow(TypeError);
    await expect(auditHash('F'.repeat(64), {})).rejects.toThrow(TypeError);
  });
});

describe('sealAuditRow / verifyChain', () => {
  it('seals a chain that verifies', async () => {
    const rows = await buildChain([auditFields(1), auditFields(2), auditFields(3)]);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(rows[0]?.prevHash).toBe(GENESIS_HASH);
    expect(rows[1]?.prevHash).toBe(rows[0]?.hash);
    expect(rows[2]?.hash).toBe(await auditHash(rows[1]?.hash ?? '', auditEntry(rows[2] as Row)));
    expect(await verifyChain(rows)).toEqual({ ok: true, length: 3 });
    expect(await verifyChain([])).toEqual({ ok: true, length: 0 });
    expect(FIRST_SEQ).toBe(1);
  });

  it('verifies what the database returns (a JSON round trip)', async () => {
    const rows = await buildChain([auditFields(1), auditFields(2)]);
    const reread = rows.map((r) => ({
      ...(JSON.parse(JSON.stringify(r)) as Row),
      createdAt: r.createdAt,
    }));
    expect(await verifyChain(reread)).toEqual({ ok: true, length: 2 });
  });

  it('ignores seq/prevHash/hash passed in by the writer', async () => {
    const row = await sealAuditRow(null, { ...auditFields(1), seq: 99, prevHash: 'x', hash: 'y' });
    expect(row.seq).toBe(1);
    expect(row.prevHash).toBe(GENESIS_HASH);
    expect(await verifyChain([row])).toEqual({ ok: true, length: 1 });
  });

  it('refuses to seal a row with undefined in it (null is the only "no value")', async () => {
    await expect(sealAuditRow(null, { ...auditFields(1), reason: undefined })).rejects.toThrow(
      TypeError,
    );
  });

  it('detects an edited row', async () => {
    const rows = await buildChain([1, 2, 3, 4].map((i) => auditFields(i)));
    const edited = rows.map((r) => ({ ...r }));
    (edited[2] as Row).after = { enabled: true, rollout: { percent: 100, segments: ['a', 'b'] } };
    expect(await verifyChain(edited)).toEqual({ ok: false, brokenAt: 3, reason: 'hash_mismatch' });
  });

  it('detects an edited row whose hash was recomputed: the next link breaks', async () => {
    const rows = await buildChain([1, 2, 3].map((i) => auditFields(i)));
    const edited = rows.map((r) => ({ ...r }));
    const victim = edited[1] as Row;
    victim.actorId = 'op_innocent';
    victim.hash = await auditHash(victim.prevHash, auditEntry(victim));
    expect(await verifyChain(edited)).toEqual({
      ok: false,
      brokenAt: 3,
      reason: 'prev_hash_mismatch',
    });
  });

  it('detects a removed row (seq gap)', async () => {
    const rows = await buildChain([1, 2, 3, 4].map((i) => auditFields(i)));
    expect(await verifyChain([rows[0], rows[1], rows[3]] as Row[])).toEqual({
      ok: false,
      brokenAt: 4,
      reason: 'seq_gap',
    });
    expect(await verifyChain(rows.slice(1))).toEqual({ ok: false, brokenAt: 2, reason: 'seq_gap' });
  });

  it('detects a removed row that was renumbered to close the gap', async () => {
    const rows = await buildChain([1, 2, 3, 4].map((i) => auditFields(i)));
    const renumbered = [rows[0], { ...rows[2], seq: 2 }, { ...rows[3], seq: 3 }] as Row[];
    expect(await verifyChain(renumbered)).toEqual({
      ok: false,
      brokenAt: 2,
      reason: 'prev_hash_mismatch',
    });
  });

  it('detects reordered rows and duplicates', async () => {
    const rows = await buildChain([1, 2, 3, 4].map((i) => auditFields(i)));
    const [a, b, c, d] = rows as [Row, Row, Row, Row];
    expect(await verifyChain([a, c, b, d])).toEqual({
      ok: false,
      brokenAt: 3,
      reason: 'seq_out_of_order',
    });
    expect(await verifyChain([a, b, b, c, d])).toEqual({
      ok: false,
      brokenAt: 2,
      reason: 'seq_out_of_order',
    });
    // Swap the contents but keep the seq numbers in place.
    const swapped = [a, { ...c, seq: 2 }, { ...b, seq: 3 }, d];
    expect(await verifyChain(swapped)).toEqual({
      ok: false,
      brokenAt: 2,
      reason: 'prev_hash_mismatch',
    });
  });

  it('detects a truncated tail only against a recorded head', async () => {
    const rows = await buildChain([1, 2, 3].map((i) => auditFields(i)));
    const head = { seq: 3, hash: (rows[2] as Row).hash };
    expect(await verifyChain(rows, { head })).toEqual({ ok: true, length: 3 });
    expect(await verifyChain(rows.slice(0, 2))).toEqual({ ok: true, length: 2 });
    expect(await verifyChain(rows.slice(0, 2), { head })).toEqual({
      ok: false,
      brokenAt: 3,
      reason: 'head_mismatch',
    });
    expect(await verifyChain([], { head })).toEqual({
      ok: false,
      brokenAt: 3,
      reason: 'head_mismatch',
    });
    expect(await verifyChain([], { head: { seq: 0, hash: GENESIS_HASH } })).toEqual({
      ok: true,
      length: 0,
    });
  });

  it('verifies a slice of a longer chain from a known link', async () => {
    const rows = await buildChain([1, 2, 3, 4, 5].map((i) => auditFields(i)));
    const from = { seq: 3, prevHash: (rows[1] as Row).hash };
    expect(await verifyChain(rows.slice(2), { from })).toEqual({ ok: true, length: 3 });
    expect(await verifyChain(rows.slice(3), { from })).toEqual({
      ok: false,
      brokenAt: 4,
      reason: 'seq_gap',
    });
  });

  it('reports rows that cannot be hashed as malformed', async () => {
    const rows = await buildChain([auditFields(1), auditFields(2)]);
    const bad = rows.map((r) => ({ ...r }));
    (bad[1] as Row).after = Number.NaN;
    expect(await verifyChain(bad)).toEqual({ ok: false, brokenAt: 2, reason: 'malformed' });
    (bad[1] as Row).seq = 1.5;
    expect(await verifyChain(bad)).toEqual({ ok: false, brokenAt: 2, reason: 'malformed' });
    (bad[0] as Row).prevHash = 'not hex';
    expect((await verifyChain(bad)).ok).toBe(false);
  });
});

describe('property: any single-field edit anywhere in a random chain is detected', () => {
  const entryArb = fc.record({
    id: fc.string({ minLength: 1, maxLength: 8 }),
    actorId: fc.string({ maxLength: 8 }),
    action: fc.constantFrom('flag.update', 'killswitch.engage', 'apikey.create'),
    storefrontId: fc.option(fc.string({ maxLength: 6 }), { nil: null }),
    before: fc.jsonValue({ maxDepth: 3 }),
    after: fc.jsonValue({ maxDepth: 3 }),
  });

  /** A different JSON value at `path` inside `value` (path empty = replace the whole value). */
  function editAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
    if (path.length === 0) return replacement;
    const [head, ...rest] = path;
    if (Array.isArray(value)) {
      const copy = [...value];
      copy[head as number] = editAt(copy[head as number], rest, replacement);
      return copy;
    }
    const obj = value as Record<string, unknown>;
    return { ...obj, [head as string]: editAt(obj[head as string], rest, replacement) };
  }

  /** Every path into a JSON value, including the root. */
  function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    const out = [prefix];
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) out.push(...paths(v, [...prefix, i]));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
    }
    return out;
  }

  it('edits of any column or any nested JSON value', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entryArb, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.nat(),
        fc.jsonValue({ maxDepth: 2 }),
        async (entries, rowPick, pathPick, replacement) => {
          const rows = await buildChain(entries);
          expect(await verifyChain(rows)).toEqual({ ok: true, length: rows.length });

          const index = rowPick % rows.length;
          const row = rows[index] as Row;
          const candidates = Object.keys(row).flatMap((column) =>
            paths(row[column]).map((p) => [column, ...p] as [string, ...(string | number)[]]),
          );
          const [column, ...inner] = candidates[pathPick % candidates.length] as [
            string,
            ...(string | number)[],
          ];
          let newValue = editAt(row[column], inner, replacement);
          if (column === 'seq') newValue = row.seq + 1 + (pathPick % 3);
          if (column === 'hash' || column === 'prevHash') {
            newValue = (row[column] as string).replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
          }
          fc.pre(canonicalJson(newValue) !== canonicalJson(row[column]));

          const tampered = rows.map((r) => ({ ...r }));
          (tampered[index] as Row)[column] = newValue;
          const result = await verifyChain(tampered);
          expect(result.ok).toBe(false);
          // Found at the edited row (under its old or new seq) or at the link right after it.
          if (!result.ok) expect([row.seq, row.seq + 1, newValue]).toContain(result.brokenAt);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('removing or moving any row', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entryArb, { minLength: 2, maxLength: 8 }),
        fc.nat(),
        fc.nat(),
        async (entries, a, b) => {
          const rows = await buildChain(entries);
          const head = { seq: rows.length, hash: (rows.at(-1) as Row).hash };
          const removed = rows.filter((_, i) => i !== a % rows.length);
          expect((await verifyChain(removed, { head })).ok).toBe(false);

          const from = a % rows.length;
          const to = b % rows.length;
          fc.pre(from !== to);
          const moved = [...rows];
          const [row] = moved.splice(from, 1);
          moved.splice(to, 0, row as Row);
          expect((await verifyChain(moved)).ok).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
