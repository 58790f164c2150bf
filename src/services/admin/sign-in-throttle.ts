/**
 * Operator sign-in throttling: failed attempts are counted per account (the email, whether or
 * not such an operator exists) and per client address, each in an exact 15-minute sliding
 * window held by the subject's RateLimiterDurableObject (the storefront limiter's objects, under
 * `signin:` subjects).
 *
 * Exactness over speed: every attempt first leases one unit of both windows from the objects
 * (no units are held in the isolate), so attempts in flight count as failures until they end,
 * and concurrent guesses can never get more answers than the limit. A wrong password keeps the
 * unit (a failure at that moment); a right one hands it back, so successful sign-ins are not
 * counted — but they do not reset the failures either: they age out of the window, whatever the
 * legitimate user does, so an attacker gets at most 5 answers per account per 15 minutes.
 */
import type { RateLimitBackend } from '../../edge/rate-limit';
import { sha256Hex } from '../../lib/crypto';

export const SIGN_IN_WINDOW_MS = 15 * 60_000;
/** Failed sign-ins per account (email) per window. */
export const SIGN_IN_FAILURES_PER_ACCOUNT = 5;
/** Failed sign-ins per client address per window, across accounts (password spraying). */
export const SIGN_IN_FAILURES_PER_ADDRESS = 20;

export type SignInAttempt =
  | {
      ok: true;
      /**
       * Ends the attempt: `failed` when a password was checked and was wrong (the attempt is
       * counted), false when it was right or no answer was given (an error): not counted. An
       * attempt not finished within the objects' lease time (5 s) counts as failed whatever
       * its outcome: its units expire as spent.
       */
      finish(failed: boolean): Promise<void>;
    }
  | { ok: false; retryAfterSeconds: number };

interface Held {
  subject: string;
  leaseId: string;
}

/**
 * Starts a sign-in attempt for `email` from `address` (a client-IP subject), or says how long
 * until one may be made. Rejects when a counter cannot be reached: sign-in then fails closed.
 */
export async function beginSignInAttempt(
  backend: RateLimitBackend,
  input: { email: string; address: string },
): Promise<SignInAttempt> {
  // Hashed: no email in object names or limiter logs.
  const account = await sha256Hex(input.email.trim().toLowerCase());
  const windows = [
    { subject: `signin:account:${account}`, limit: SIGN_IN_FAILURES_PER_ACCOUNT },
    { subject: `signin:ip:${input.address}`, limit: SIGN_IN_FAILURES_PER_ADDRESS },
  ];
  const grants = await Promise.allSettled(
    windows.map((w) => backend.lease(w.subject, w.limit, SIGN_IN_WINDOW_MS, 1, [])),
  );
  const held: Held[] = [];
  let retryAfterSeconds = 0;
  let failure: unknown;
  grants.forEach((g, i) => {
    const subject = (windows[i] as (typeof windows)[number]).subject;
    if (g.status === 'rejected') failure ??= g.reason;
    else if (g.value.granted > 0 && g.value.leaseId !== null) {
      held.push({ subject, leaseId: g.value.leaseId });
    } else retryAfterSeconds = Math.max(retryAfterSeconds, g.value.retryAfterSeconds, 1);
  });
  const release = (failed: boolean) =>
    Promise.all(
      held.map((h) => backend.release(h.subject, [{ leaseId: h.leaseId, unused: failed ? 0 : 1 }])),
    ).then(() => undefined);
  if (failure !== undefined || retryAfterSeconds > 0) {
    // Nothing was answered: the unit of the window that did grant one goes back.
    await release(false).catch(() => {});
    if (failure !== undefined) throw failure;
    return { ok: false, retryAfterSeconds };
  }
  return { ok: true, finish: release };
}
