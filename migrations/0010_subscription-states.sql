-- Subscription states of issue 12 (src/subscriptions/lifecycle.ts): drop `expired`, add
-- `incomplete_expired` and `ended`. Postgres cannot remove an enum value, so the type is swapped:
-- rename the old type, create the new one, convert the column with a cast (an old `expired`
-- row becomes `ended`), drop the old type. Every step checks first, so a re-run is a no-op.
DO $$
BEGIN
	IF EXISTS (
		SELECT 1 FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
		WHERE t.typname = 'subscription_status' AND e.enumlabel = 'expired'
	) THEN
		ALTER TYPE "public"."subscription_status" RENAME TO "subscription_status_old";
		CREATE TYPE "public"."subscription_status" AS ENUM('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'paused', 'cancelled', 'ended');
		ALTER TABLE "subscriptions" ALTER COLUMN "status" SET DATA TYPE "public"."subscription_status"
			USING (CASE "status"::text WHEN 'expired' THEN 'ended' ELSE "status"::text END)::"public"."subscription_status";
		DROP TYPE "public"."subscription_status_old";
	END IF;
END $$;--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "test_clocks" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"storefront_id" text NOT NULL,
	"name" text,
	"frozen_time" timestamp with time zone NOT NULL,
	"mode" "key_mode" DEFAULT 'test' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "test_clocks_test_mode_only" CHECK ("test_clocks"."mode" = 'test')
);
--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "mode" "key_mode" DEFAULT 'live' NOT NULL;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "billing_anchor" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "term_end" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "ended_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "paused_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "resume_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "billing_issue" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "pending_bundle_id" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "pending_price_id" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "credit_balance" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "test_clock_id" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "targeting_key" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "campaign" text;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "test_clocks_storefront_idx" ON "test_clocks" USING btree ("storefront_id");--> statement-breakpoint
-- Constraints have no IF NOT EXISTS: each is added unless one of that name is there.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'test_clocks_tenant_id_tenants_id_fk') THEN
		ALTER TABLE "test_clocks" ADD CONSTRAINT "test_clocks_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'test_clocks_storefront_id_storefronts_id_fk') THEN
		ALTER TABLE "test_clocks" ADD CONSTRAINT "test_clocks_storefront_id_storefronts_id_fk" FOREIGN KEY ("storefront_id") REFERENCES "public"."storefronts"("id") ON DELETE cascade ON UPDATE no action;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'subscriptions_pending_bundle_id_bundles_id_fk') THEN
		ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_pending_bundle_id_bundles_id_fk" FOREIGN KEY ("pending_bundle_id") REFERENCES "public"."bundles"("id") ON DELETE no action ON UPDATE no action;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'subscriptions_pending_price_id_bundle_prices_id_fk') THEN
		ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_pending_price_id_bundle_prices_id_fk" FOREIGN KEY ("pending_price_id") REFERENCES "public"."bundle_prices"("id") ON DELETE no action ON UPDATE no action;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'subscriptions_test_clock_id_test_clocks_id_fk') THEN
		ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_test_clock_id_test_clocks_id_fk" FOREIGN KEY ("test_clock_id") REFERENCES "public"."test_clocks"("id") ON DELETE set null ON UPDATE no action;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'subscriptions_credit_balance_nonneg') THEN
		ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_credit_balance_nonneg" CHECK ("subscriptions"."credit_balance" >= 0);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'subscriptions_test_clock_test_mode') THEN
		ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_test_clock_test_mode" CHECK ("subscriptions"."test_clock_id" IS NULL OR "subscriptions"."mode" = 'test');
	END IF;
END $$;
