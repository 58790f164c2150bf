const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdPrefix =
  | 'ten'
  | 'sf'
  | 'rt'
  | 'bun'
  | 'price'
  | 'ent'
  | 'cus'
  | 'sub'
  | 'sevt'
  | 'pay'
  | 'patt'
  | 'pm'
  | 're'
  | 'flag'
  | 'ks'
  | 'key'
  | 'op'
  | 'orl'
  | 'aud'
  | 'req'
  | 'seg'
  | 'exp'
  | 'clock'
  | 'slot'
  | 'entevt'
  | 'lease'
  | 'comp';

/**
 * A prefixed, time-sortable id: `<prefix>_` + 10 chars of millisecond time + 16 random chars
 * (Crockford base32, 80 random bits), like a ULID.
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let rand = '';
  for (const b of bytes) rand += CROCKFORD[b & 31];
  return `${prefix}_${time}${rand}`;
}

/**
 * A prefixed id derived from a hex digest (the same digest, the same id): 26 Crockford
 * base32 characters, one per digest byte, in the shape of {@link newId}'s.
 */
export function idFromDigest(prefix: IdPrefix, hex: string): string {
  let out = '';
  for (let i = 0; i < 26; i++)
    out += CROCKFORD[Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16) & 31];
  return `${prefix}_${out}`;
}
