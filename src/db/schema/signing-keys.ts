import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { tenants } from './tenants';

/**
 * A tenant's customer-token signing keys. `kid` is the RFC 7638 thumbprint of the public key.
 * The private JWK is stored only encrypted (AES-GCM under a key derived from
 * `SIGNING_KEY_SECRET`, bound to tenant and kid); the publisher reads the public columns only.
 * A retired key no longer signs but stays in the tenant's JWKS for the overlap window.
 */
export const tenantSigningKeys = pgTable(
  'tenant_signing_keys',
  {
    kid: text('kid').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    alg: text('alg').$type<'EdDSA' | 'ES256'>().notNull(),
    publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
    /** `v1.<iv>.<ciphertext>` (base64url); never returned, logged or published. */
    privateJwkEncrypted: text('private_jwk_encrypted').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
  },
  (t) => [
    index('tenant_signing_keys_tenant_idx').on(t.tenantId, t.createdAt),
    check('tenant_signing_keys_alg', sql`${t.alg} in ('EdDSA', 'ES256')`),
  ],
);
