-- The experiments query (src/services/analytics/queries.ts, `experiments`): both indexes
-- covering (INCLUDE written by hand; drizzle-kit does not), partial to experiment exposures.
-- By (tenant, storefront, targeting key, flag, time): each key's first exposure in the range
-- in index order, in the order of subscriptions_analytics_targeting_idx (storefront, targeting
-- key), so the checkouts are merged in as they stream — no hash of a year of keys. By (tenant,
-- time): a short range reads only its own exposures instead of every one of the tenant's.
-- The two replace 0014's (tenant, storefront, flag, targeting key, time).
CREATE INDEX IF NOT EXISTS "flag_exposures_experiment_key_idx" ON "flag_exposures" USING btree ("tenant_id","storefront_id","targeting_key","flag_key","occurred_at") INCLUDE ("variant") WHERE "flag_exposures"."in_experiment" AND "flag_exposures"."targeting_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "flag_exposures_experiment_time_idx" ON "flag_exposures" USING btree ("tenant_id","occurred_at") INCLUDE ("storefront_id","flag_key","targeting_key","variant") WHERE "flag_exposures"."in_experiment" AND "flag_exposures"."targeting_key" IS NOT NULL;--> statement-breakpoint
DROP INDEX IF EXISTS "flag_exposures_experiment_idx";
