CREATE TYPE "public"."key_mode" AS ENUM('test', 'live');--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "mode" "key_mode" DEFAULT 'live' NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_prefix_kind_mode" CHECK (left("api_keys"."prefix", 8) = (case "api_keys"."kind" when 'secret' then 'sk_' else 'pk_' end) || "api_keys"."mode"::text || '_');