-- The console's customer search by the start of an email, across a tenant's storefronts.
CREATE INDEX IF NOT EXISTS "customers_tenant_email_prefix_idx" ON "customers" USING btree ("tenant_id",lower("email") text_pattern_ops);
