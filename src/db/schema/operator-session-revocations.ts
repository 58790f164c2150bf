import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { operators } from './operators';

/**
 * Operator sessions ended before their token's `exp` (sign-out). Session tokens are stateless,
 * so `operatorAuth` looks the session id up here on every admin request, in the same query that
 * loads the operator. A row matters only until `expires_at`, the token's own expiry: after that
 * the token is refused anyway, and sign-outs delete such rows.
 */
export const operatorSessionRevocations = pgTable(
  'operator_session_revocations',
  {
    sessionId: text('session_id').primaryKey(), // ses_…
    operatorId: text('operator_id')
      .notNull()
      .references(() => operators.id, { onDelete: 'cascade' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('operator_session_revocations_expires_idx').on(t.expiresAt)],
);
