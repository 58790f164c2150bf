/**
 * Tamper evidence for the audit log. Each row's `hash` is the SHA-256 of the previous row's hash
 * and the canonical JSON of the row itself, so editing, deleting or reordering any row breaks
 * every link after it. Truncating the newest rows is only visible against a head (seq and hash)
 * remembered elsewhere: pass it as `head` to {@link verifyChain}.
 *
 * The writer and the verifier must hash exactly the same values, so the writer should use
 * {@link sealAuditRow} on the full row it inserts (every column, `null` rather than missing,
 * `createdAt` set by the application rather than by a database default).
 */
import { sha256Hex } from '../lib/crypto';

/** `prevHash` of the first row of every chain. */
export const GENESIS_HASH = '0'.repeat(64);
/** `seq` of the first row of every chain. */
export const FIRST_SEQ = 1;

const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers and strings as
 * `JSON.stringify` writes them (this matches RFC 8785 for the values we accept). `Date` becomes
 * its ISO string. `undefined` is treated as `JSON.stringify` (and so a jsonb column) treats it:
 * an object property holding it is left out, an array slot holding it is `null`, so a value
 * hashes the same before it is stored and after it is read back. Throws a `TypeError` for what
 * JSON would silently corrupt or cannot hold: non-finite numbers, bigint, functions, symbols,
 * class instances, maps, sets, cycles, and `undefined` as the whole value.
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined) throw new TypeError('$: undefined has no JSON form');
  return write(value, new Set<object>(), '$');
}

function write(value: unknown, seen: Set<object>, path: string): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path}: non-finite number`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new TypeError(`${path}: invalid Date`);
        return JSON.stringify(value.toISOString());
      }
      if (seen.has(value)) throw new TypeError(`${path}: cycle`);
      seen.add(value);
      let out: string;
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          parts.push(item === undefined ? 'null' : write(item, seen, `${path}[${i}]`));
        }
        out = `[${parts.join(',')}]`;
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new TypeError(`${path}: not a plain object`);
        }
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record)
          .filter((k) => record[k] !== undefined)
          .sort();
        out = `{${keys
          .map((k) => `${JSON.stringify(k)}:${write(record[k], seen, `${path}.${k}`)}`)
          .join(',')}}`;
      }
      seen.delete(value);
      return out;
    }
    default:
      throw new TypeError(`${path}: ${typeof value} has no JSON form`);
  }
}

/**
 * Lower-case hex SHA-256 of `prevHash + '\n' + canonicalJson(entry)`. `entry` is the row without
 * its `prevHash` and `hash` columns (see {@link auditEntry}).
 */
export async function auditHash(prevHash: string, entry: Record<string, unknown>): Promise<string> {
  if (!HEX_HASH.test(prevHash)) throw new TypeError('prevHash must be 64 lower-case hex digits');
  return sha256Hex(`${prevHash}\n${canonicalJson(entry)}`);
}

export interface ChainLink {
  seq: number;
  prevHash: string;
  hash: string;
}

/** The part of a row that is hashed: every column except `prevHash` and `hash`. */
export function auditEntry(row: Record<string, unknown>): Record<string, unknown> {
  const { prevHash: _prevHash, hash: _hash, ...entry } = row;
  return entry;
}

/**
 * Links a new row to the chain: sets `seq` (previous + 1, or {@link FIRST_SEQ}), `prevHash` and
 * `hash`. `prev` is the current head of the chain, or `null` for an empty chain. Read the head
 * and insert in one transaction (the unique `(chain, seq)` index turns a race into a conflict).
 */
export async function sealAuditRow<T extends Record<string, unknown>>(
  prev: Pick<ChainLink, 'seq' | 'hash'> | null,
  fields: T,
): Promise<Omit<T, keyof ChainLink> & ChainLink> {
  for (const [column, value] of Object.entries(fields)) {
    // The database hands back NULL for a column the writer left undefined, and the hash would
    // no longer match: insist on null up front.
    if (value === undefined) throw new TypeError(`${column} is undefined; use null`);
  }
  const seq = prev ? prev.seq + 1 : FIRST_SEQ;
  const prevHash = prev ? prev.hash : GENESIS_HASH;
  const entry: Record<string, unknown> = { ...auditEntry(fields), seq };
  const hash = await auditHash(prevHash, entry);
  return { ...(entry as Omit<T, keyof ChainLink>), seq, prevHash, hash };
}

export type ChainBreak =
  /** A row's `seq` skips ahead and the missing one is nowhere in the input: rows were removed. */
  | 'seq_gap'
  /** Rows are not in `seq` order, or a `seq` repeats. */
  | 'seq_out_of_order'
  /** A row's `prevHash` is not the previous row's `hash`. */
  | 'prev_hash_mismatch'
  /** A row's content does not hash to its `hash`: it was edited. */
  | 'hash_mismatch'
  /** The last row is not the expected head: the newest rows were removed or replaced. */
  | 'head_mismatch'
  /** A row cannot be hashed at all (bad `seq`, non-JSON value). */
  | 'malformed';

export type VerifyChainResult =
  | { ok: true; length: number }
  | { ok: false; brokenAt: number; reason: ChainBreak };

export interface VerifyChainOptions {
  /** Where `rows` start when verifying a slice: the first row's expected `seq` and `prevHash`. */
  from?: { seq: number; prevHash: string };
  /** The chain head recorded elsewhere; detects removal of the newest rows. */
  head?: { seq: number; hash: string };
}

/**
 * Verifies rows of one chain, given in the order they were read (`ORDER BY seq`). Returns the
 * first break with the `seq` of the row where it was found (for `head_mismatch`, the head's).
 */
export async function verifyChain<R extends ChainLink>(
  rows: readonly R[],
  options: VerifyChainOptions = {},
): Promise<VerifyChainResult> {
  let expectedSeq = options.from?.seq ?? FIRST_SEQ;
  let prevHash = options.from?.prevHash ?? GENESIS_HASH;
  for (const row of rows) {
    if (!Number.isSafeInteger(row.seq)) {
      return { ok: false, brokenAt: expectedSeq, reason: 'malformed' };
    }
    if (row.seq !== expectedSeq) {
      const missing = !rows.some((r) => r.seq === expectedSeq);
      const reason = row.seq > expectedSeq && missing ? 'seq_gap' : 'seq_out_of_order';
      return { ok: false, brokenAt: row.seq, reason };
    }
    if (row.prevHash !== prevHash) {
      return { ok: false, brokenAt: row.seq, reason: 'prev_hash_mismatch' };
    }
    let computed: string;
    try {
      computed = await auditHash(prevHash, auditEntry(row as unknown as Record<string, unknown>));
    } catch {
      return { ok: false, brokenAt: row.seq, reason: 'malformed' };
    }
    if (computed !== row.hash) return { ok: false, brokenAt: row.seq, reason: 'hash_mismatch' };
    prevHash = row.hash;
    expectedSeq += 1;
  }
  // After the loop, (expectedSeq - 1, prevHash) is the head the rows lead to.
  const { head } = options;
  if (head && (head.seq !== expectedSeq - 1 || head.hash !== prevHash)) {
    return { ok: false, brokenAt: head.seq, reason: 'head_mismatch' };
  }
  return { ok: true, length: rows.length };
}
