DROP INDEX "payments_idempotency_uq";--> statement-breakpoint
CREATE UNIQUE INDEX "payments_idempotency_uq" ON "payments" USING btree ("storefront_id","mode","idempotency_key");