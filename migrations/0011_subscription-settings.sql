-- Issue 12: a bundle's trial and a storefront's subscription settings (dunning), published in
-- the snapshot; the version of a subscription's copy (a copy only replaces an older one); and
-- payments no longer reference subscriptions by foreign key (a payment's object and its
-- subscription's object copy themselves to Postgres independently, in either order).
ALTER TABLE "payments" DROP CONSTRAINT IF EXISTS "payments_subscription_id_subscriptions_id_fk";
--> statement-breakpoint
ALTER TABLE "bundles" ADD COLUMN IF NOT EXISTS "trial" jsonb;--> statement-breakpoint
ALTER TABLE "storefronts" ADD COLUMN IF NOT EXISTS "subscription_settings" jsonb;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "version" integer DEFAULT 0 NOT NULL;