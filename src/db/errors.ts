import { DrizzleQueryError } from 'drizzle-orm';

/** A Postgres error's facts that carry no data: SQLSTATE, severity, the server routine. */
function postgresFacts(err: unknown): Record<string, string> | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, severity, routine } = err as Record<string, unknown>;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  const facts: Record<string, string> = { code };
  if (typeof severity === 'string') facts.severity = severity;
  if (typeof routine === 'string') facts.routine = routine;
  return facts;
}

/**
 * An error as log fields that never carry request data. A failed query logs its SQL text (its
 * parameters are placeholders) and the Postgres SQLSTATE: drizzle's own message lists the
 * parameters (customer emails, names), and a Postgres message or `detail` may quote a value.
 */
export function loggableError(err: unknown): Record<string, unknown> {
  if (err instanceof DrizzleQueryError) {
    return { error: 'DrizzleQueryError', query: err.query, ...postgresFacts(err.cause) };
  }
  const facts = postgresFacts(err);
  if (facts) return { error: 'DatabaseError', ...facts };
  return { error: String(err) };
}
