CREATE TABLE "flag_exposures" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"storefront_id" text NOT NULL,
	"flag_key" text NOT NULL,
	"flag_version" integer,
	"variation_index" integer,
	"variant" text,
	"reason" text NOT NULL,
	"in_experiment" boolean DEFAULT false NOT NULL,
	"targeting_key" text,
	"channel" text,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "segments" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"key" text NOT NULL,
	"definition" jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "rate_limit" integer;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "rotated_from" text;--> statement-breakpoint
ALTER TABLE "flag_exposures" ADD CONSTRAINT "flag_exposures_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "segments" ADD CONSTRAINT "segments_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "flag_exposures_flag_idx" ON "flag_exposures" USING btree ("tenant_id","flag_key","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "segments_tenant_key_uq" ON "segments" USING btree ("tenant_id","key");