-- Analytics (src/services/analytics): the facts of each subscription (converted, first paid and its
-- price, churned), the storefront and mode beside each event and payment attempt, and covering
-- indexes (INCLUDE written by hand; drizzle-kit does not) so each query is an index-only scan.
ALTER TABLE "payment_attempts" ADD COLUMN IF NOT EXISTS "storefront_id" text;--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD COLUMN IF NOT EXISTS "mode" "key_mode";--> statement-breakpoint
ALTER TABLE "subscription_events" ADD COLUMN IF NOT EXISTS "storefront_id" text;--> statement-breakpoint
ALTER TABLE "subscription_events" ADD COLUMN IF NOT EXISTS "mode" "key_mode";--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "converted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "first_paid_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "first_paid_price_id" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "churned_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "flag_exposures_experiment_idx" ON "flag_exposures" USING btree ("tenant_id","storefront_id","flag_key","targeting_key","occurred_at") INCLUDE ("variant") WHERE "flag_exposures"."in_experiment" AND "flag_exposures"."targeting_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "payment_attempts_analytics_idx" ON "payment_attempts" USING btree ("tenant_id","mode","created_at") INCLUDE ("storefront_id","provider","status","decline_class");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "payments_analytics_idx" ON "payments" USING btree ("tenant_id","mode","created_at") INCLUDE ("storefront_id","status");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscription_events_analytics_idx" ON "subscription_events" USING btree ("tenant_id","type","occurred_at") INCLUDE ("storefront_id","mode") WHERE "subscription_events"."type" IN ('past_due', 'recovered', 'plan_changed');--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_created_idx" ON "subscriptions" USING btree ("tenant_id","mode","created_at") INCLUDE ("storefront_id","converted_at","first_paid_at","churned_at","first_paid_price_id","campaign");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_converted_idx" ON "subscriptions" USING btree ("tenant_id","mode","converted_at") INCLUDE ("storefront_id") WHERE "subscriptions"."converted_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_paid_idx" ON "subscriptions" USING btree ("tenant_id","mode","first_paid_at") INCLUDE ("storefront_id","first_paid_price_id") WHERE "subscriptions"."first_paid_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_trial_idx" ON "subscriptions" USING btree ("tenant_id","mode","trial_end") INCLUDE ("storefront_id","first_paid_at","status") WHERE "subscriptions"."trial_end" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_churned_idx" ON "subscriptions" USING btree ("tenant_id","mode","churned_at") INCLUDE ("storefront_id","price_id","first_paid_at") WHERE "subscriptions"."churned_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_targeting_idx" ON "subscriptions" USING btree ("storefront_id","targeting_key") INCLUDE ("mode","created_at","converted_at") WHERE "subscriptions"."targeting_key" IS NOT NULL;--> statement-breakpoint
-- Backfill: the copies written before these columns existed (the same rules as
-- src/analytics/facts.ts; re-runnable, each touches only rows still without the fact).
UPDATE "subscription_events" e SET "storefront_id" = s."storefront_id", "mode" = s."mode"
  FROM "subscriptions" s WHERE e."subscription_id" = s."id" AND e."storefront_id" IS NULL;--> statement-breakpoint
UPDATE "payment_attempts" a SET "storefront_id" = p."storefront_id", "mode" = p."mode", "created_at" = p."created_at"
  FROM "payments" p WHERE a."payment_id" = p."id" AND a."storefront_id" IS NULL;--> statement-breakpoint
UPDATE "subscriptions" s SET
  "converted_at" = (SELECT min(e."occurred_at") FROM "subscription_events" e
    WHERE e."subscription_id" = s."id" AND e."type" IN ('activated', 'trial_started')),
  "first_paid_at" = (SELECT min(e."occurred_at") FROM "subscription_events" e
    WHERE e."subscription_id" = s."id" AND e."type" IN ('activated', 'recovered'))
  WHERE s."converted_at" IS NULL;--> statement-breakpoint
UPDATE "subscriptions" s SET "first_paid_price_id" = coalesce((SELECT e."data"->'from'->>'priceId'
    FROM "subscription_events" e WHERE e."subscription_id" = s."id" AND e."type" = 'plan_changed'
      AND e."occurred_at" > s."first_paid_at" ORDER BY e."seq" LIMIT 1), s."price_id")
  WHERE s."first_paid_at" IS NOT NULL AND s."first_paid_price_id" IS NULL;--> statement-breakpoint
UPDATE "subscriptions" SET "churned_at" = coalesce("ended_at", "cancelled_at")
  WHERE "churned_at" IS NULL AND "converted_at" IS NOT NULL AND "status" IN ('cancelled', 'ended');
