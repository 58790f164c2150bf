/**
 * Operator passwords: PBKDF2-HMAC-SHA256 through WebCrypto, stored as
 * `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>`.
 *
 * Why 100,000 iterations, well under OWASP's 600,000: Cloudflare's production runtime refuses
 * PBKDF2 above 100,000 iterations ("iteration counts above 100000 are not supported",
 * cloudflare/workerd#1346). Local workerd has dropped that cap, so tests cannot show the refusal;
 * the limit is kept here as a constant instead. The count travels in every stored hash, so when
 * the platform allows more, raise {@link PBKDF2_ITERATIONS} and {@link needsRehash} upgrades
 * hashes at the next successful login.
 */
import { constantTimeEqual, fromBase64Url, randomBytes, toBase64Url, utf8 } from './encoding';

/** Highest PBKDF2 iteration count Cloudflare Workers accept in production. */
export const PBKDF2_MAX_ITERATIONS = 100_000;
/** Iteration count for new hashes. */
export const PBKDF2_ITERATIONS = PBKDF2_MAX_ITERATIONS;
/** Below this a stored hash is treated as corrupt rather than merely old. */
const PBKDF2_MIN_ITERATIONS = 1_000;

const SCHEME = 'pbkdf2-sha256';
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export const PASSWORD_MIN_LENGTH = 12;
/** Bounds the work an unauthenticated login can make us do. */
export const PASSWORD_MAX_LENGTH = 256;

interface ParsedHash {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  hash: Uint8Array<ArrayBuffer>;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 4 || parts[0] !== SCHEME) return null;
  const [, iterText = '', saltText = '', hashText = ''] = parts;
  if (!/^[1-9][0-9]{0,8}$/.test(iterText)) return null;
  const iterations = Number(iterText);
  // An attacker who can write a stored hash must not be able to make a login cost unbounded CPU.
  if (iterations < PBKDF2_MIN_ITERATIONS || iterations > PBKDF2_MAX_ITERATIONS) return null;
  const salt = fromBase64Url(saltText);
  const hash = fromBase64Url(hashText);
  if (!salt || !hash || salt.length < SALT_BYTES || hash.length !== HASH_BYTES) return null;
  return { iterations, salt, hash };
}

/**
 * NFKC so that the same password typed on different keyboards or OSes (composed vs decomposed
 * accents, full-width digits) hashes the same (NIST SP 800-63B §5.1.1.2).
 */
function normalize(password: string): string {
  return password.normalize('NFKC');
}

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const material = await crypto.subtle.importKey(
    'raw',
    utf8(normalize(password)),
    'PBKDF2',
    false,
    ['deriveBits'],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    material,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

/**
 * Hashes a password for storage. Rejects passwords over {@link PASSWORD_MAX_LENGTH} characters;
 * call {@link validatePasswordStrength} first to give the user a readable reason.
 */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0 || password.length > PASSWORD_MAX_LENGTH) {
    throw new RangeError(`password must be 1 to ${PASSWORD_MAX_LENGTH} characters`);
  }
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return `${SCHEME}$${PBKDF2_ITERATIONS}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

// Stands in for the stored hash of an operator that does not exist. Its bytes match no
// password; only the PBKDF2 work matters, so a login for an unknown e-mail takes as long as one
// for a known e-mail and does not reveal which accounts exist.
const DUMMY_SALT = new Uint8Array(SALT_BYTES).fill(0x5a);

/**
 * Checks a password against a stored hash in constant time. Pass `null` when there is no such
 * operator: the same work is done and the answer is `false`, so response time does not tell an
 * attacker whether the account exists. Malformed stored hashes also answer `false` (never throw:
 * a corrupt row must not turn a login into a 500 that differs from a wrong password).
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (stored === null) {
    await derive(password.slice(0, PASSWORD_MAX_LENGTH), DUMMY_SALT, PBKDF2_ITERATIONS);
    return false;
  }
  const parsed = parseHash(stored);
  if (!parsed || password.length > PASSWORD_MAX_LENGTH) return false;
  const candidate = await derive(password, parsed.salt, parsed.iterations);
  return constantTimeEqual(candidate, parsed.hash);
}

/**
 * True when a stored hash should be replaced by {@link hashPassword} after the next successful
 * login: other scheme, fewer iterations than {@link PBKDF2_ITERATIONS}, or unusual sizes.
 */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  return (
    !parsed ||
    parsed.iterations < PBKDF2_ITERATIONS ||
    parsed.salt.length !== SALT_BYTES ||
    parsed.hash.length !== HASH_BYTES
  );
}

export interface PasswordContext {
  /** The operator's e-mail; its local part must not appear in the password. */
  email?: string;
  /** The operator's display name; no word of four or more letters may appear in the password. */
  name?: string;
}

// Tiny on purpose: a handful of the most common bases that pass the length and class rules.
const COMMON = [
  'password',
  'passw0rd',
  'qwerty',
  'letmein',
  'welcome',
  'admin',
  'azotte',
  '123456',
];

type CharClass = 'lower' | 'upper' | 'digit' | 'other';

function charClass(ch: string): CharClass {
  if (/\p{Ll}/u.test(ch)) return 'lower';
  if (/\p{Lu}/u.test(ch)) return 'upper';
  if (/\p{Nd}/u.test(ch)) return 'digit';
  return 'other';
}

/**
 * Returns human-readable reasons a password is too weak; an empty array means it is acceptable.
 * Rules: 12 to 256 characters, characters from at least two classes (lower case, upper case,
 * digits, other), not one character repeated, not built around a very common password, the
 * e-mail or the name.
 */
export function validatePasswordStrength(
  password: string,
  context: PasswordContext = {},
): string[] {
  const problems: string[] = [];
  const chars = [...normalize(password)];
  if (chars.length < PASSWORD_MIN_LENGTH) {
    problems.push(`Use at least ${PASSWORD_MIN_LENGTH} characters.`);
  }
  if (chars.length > PASSWORD_MAX_LENGTH) {
    problems.push(`Use at most ${PASSWORD_MAX_LENGTH} characters.`);
  }
  if (chars.length > 0 && new Set(chars).size === 1) {
    problems.push('Do not repeat a single character.');
  } else if (chars.length > 0 && new Set(chars.map(charClass)).size < 2) {
    problems.push('Mix at least two kinds of characters: lower case, upper case, digits, symbols.');
  }
  const lower = normalize(password).toLowerCase();
  if (COMMON.some((word) => lower.includes(word))) {
    problems.push('Avoid common passwords and words like "password".');
  }
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 3 && lower.includes(local)) {
    problems.push('Do not use your e-mail address in the password.');
  }
  const nameWords = (context.name ?? '').toLowerCase().split(/[^\p{L}]+/u);
  if (nameWords.some((w) => w.length >= 4 && lower.includes(w))) {
    problems.push('Do not use your name in the password.');
  }
  return problems;
}
