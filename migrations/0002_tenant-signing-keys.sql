CREATE TABLE "tenant_signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"private_jwk_encrypted" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone,
	CONSTRAINT "tenant_signing_keys_alg" CHECK ("tenant_signing_keys"."alg" in ('EdDSA', 'ES256'))
);
--> statement-breakpoint
ALTER TABLE "tenant_signing_keys" ADD CONSTRAINT "tenant_signing_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "tenant_signing_keys_tenant_idx" ON "tenant_signing_keys" USING btree ("tenant_id","created_at");