CREATE TABLE "operator_session_revocations" (
	"session_id" text PRIMARY KEY NOT NULL,
	"operator_id" text NOT NULL,
	"revoked_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "operators" ADD COLUMN "sessions_not_before" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "operator_session_revocations" ADD CONSTRAINT "operator_session_revocations_operator_id_operators_id_fk" FOREIGN KEY ("operator_id") REFERENCES "public"."operators"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "operator_session_revocations_expires_idx" ON "operator_session_revocations" USING btree ("expires_at");