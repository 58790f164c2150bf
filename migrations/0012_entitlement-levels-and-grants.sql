-- Issue 13: the levels a tier entitlement declares, lowest first (the union of a customer's
-- tiers takes the highest in this order), and complimentary grants by operators: the record of
-- each grant (the customer's entitlements object holds the live copy).
ALTER TABLE "entitlement_definitions" ADD COLUMN IF NOT EXISTS "levels" text[];--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "entitlement_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"storefront_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"mode" "key_mode" NOT NULL,
	"entitlement_id" text NOT NULL,
	"key" text NOT NULL,
	"type" "entitlement_type" NOT NULL,
	"value" jsonb NOT NULL,
	"levels" text[],
	"levels_version" integer,
	"expires_at" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	"created_by" text NOT NULL,
	"request_key" text,
	"revoked_at" timestamp with time zone,
	"revoked_by" text,
	"revoke_reason" text,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "entitlement_grants_revoked_ck" CHECK (("entitlement_grants"."revoked_at" is null) = ("entitlement_grants"."revoked_by" is null))
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "entitlement_grants_customer_idx" ON "entitlement_grants" USING btree ("tenant_id","storefront_id","customer_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "entitlement_grants_request_key_uq" ON "entitlement_grants" USING btree ("tenant_id","created_by","request_key");--> statement-breakpoint
-- Constraints have no IF NOT EXISTS: each is added unless one of that name is there.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'entitlement_grants_tenant_id_tenants_id_fk') THEN
		ALTER TABLE "entitlement_grants" ADD CONSTRAINT "entitlement_grants_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'entitlement_grants_storefront_id_storefronts_id_fk') THEN
		ALTER TABLE "entitlement_grants" ADD CONSTRAINT "entitlement_grants_storefront_id_storefronts_id_fk" FOREIGN KEY ("storefront_id") REFERENCES "public"."storefronts"("id") ON DELETE cascade ON UPDATE no action;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'entitlement_grants_customer_id_customers_id_fk') THEN
		ALTER TABLE "entitlement_grants" ADD CONSTRAINT "entitlement_grants_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'entitlement_grants_entitlement_id_entitlement_definitions_id_fk') THEN
		ALTER TABLE "entitlement_grants" ADD CONSTRAINT "entitlement_grants_entitlement_id_entitlement_definitions_id_fk" FOREIGN KEY ("entitlement_id") REFERENCES "public"."entitlement_definitions"("id") ON DELETE cascade ON UPDATE no action;
	END IF;
END $$;
