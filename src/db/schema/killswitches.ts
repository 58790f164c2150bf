import { boolean, integer, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { timestamps } from './_columns';
import { failModeEnum, killswitchScopeEnum } from './enums';
import { storefronts } from './storefronts';
import { tenants } from './tenants';

/**
 * An emergency switch. `target` names what is switched off within the scope: a channel
 * (`ott`), a feature (`checkout`) or a provider (`stripe`); empty for tenant and storefront
 * scopes. `storefront_id` narrows channel / feature / provider switches to one storefront.
 */
export const killswitches = pgTable(
  'killswitches',
  {
    id: text('id').primaryKey(), // ks_…
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    storefrontId: text('storefront_id').references(() => storefronts.id, { onDelete: 'cascade' }),
    scope: killswitchScopeEnum('scope').notNull(),
    target: text('target').notNull().default(''),
    engaged: boolean('engaged').notNull().default(false),
    /** What the edge does with this switch when it cannot load fresh config. */
    failMode: failModeEnum('fail_mode').notNull().default('closed'),
    retryAfterSeconds: integer('retry_after_seconds').notNull().default(60),
    reason: text('reason'),
    ...timestamps,
  },
  (t) => [
    unique('killswitches_scope_uq')
      .on(t.tenantId, t.storefrontId, t.scope, t.target)
      .nullsNotDistinct(),
  ],
);
