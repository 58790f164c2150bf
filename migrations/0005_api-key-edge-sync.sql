ALTER TABLE "api_keys" ADD COLUMN "edge_synced" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "api_keys_edge_pending_idx" ON "api_keys" USING btree ("tenant_id") WHERE not "api_keys"."edge_synced";--> statement-breakpoint
CREATE INDEX "api_keys_tenant_updated_idx" ON "api_keys" USING btree ("tenant_id","updated_at");