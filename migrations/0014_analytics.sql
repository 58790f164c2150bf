-- Analytics (src/services/analytics): the facts of each subscription (converted, first paid and its
-- price, churned), the storefront and mode beside each event and payment attempt, and covering
-- indexes (INCLUDE written by hand; drizzle-kit does not) so each query is an index-only scan.
ALTER TABLE "payment_attempts" ADD COLUMN IF NOT EXISTS "storefront_id" text;--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD COLUMN IF NOT EXISTS "mode" "key_mode";--> statement-breakpoint
ALTER TABLE "subscription_events" ADD COLUMN IF NOT EXISTS "storefront_id" text;--> statement-breakpoint
ALTER TABLE "subscription_events" ADD COLUMN IF NOT EXISTS "mode" "key_mode";--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "converted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "first_paid_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "first_paid_price_id" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN IF NOT EXISTS "churned_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "flag_exposures_experiment_idx" ON "flag_exposures" USING btree ("tenant_id","storefront_id","flag_key","targeting_key","occurred_at") INCLUDE ("variant") WHERE "flag_exposures"."in_experiment" AND "flag_exposures"."targeting_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "payment_attempts_analytics_idx" ON "payment_attempts" USING btree ("tenant_id","mode","created_at") INCLUDE ("storefront_id","provider","status","decline_class");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "payments_analytics_idx" ON "payments" USING btree ("tenant_id","mode","created_at") INCLUDE ("storefront_id","status");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscription_events_analytics_idx" ON "subscription_events" USING btree ("tenant_id","type","occurred_at") INCLUDE ("storefront_id","mode") WHERE "subscription_events"."type" IN ('past_due', 'recovered', 'plan_changed');--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_created_idx" ON "subscriptions" USING btree ("tenant_id","mode","created_at") INCLUDE ("storefront_id","converted_at","first_paid_at","churned_at","first_paid_price_id","campaign");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_converted_idx" ON "subscriptions" USING btree ("tenant_id","mode","converted_at") INCLUDE ("storefront_id") WHERE "subscriptions"."converted_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_paid_idx" ON "subscriptions" USING btree ("tenant_id","mode","first_paid_at") INCLUDE ("storefront_id","first_paid_price_id") WHERE "subscriptions"."first_paid_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_trial_idx" ON "subscriptions" USING btree ("tenant_id","mode","trial_end") INCLUDE ("storefront_id","first_paid_at","status") WHERE "subscriptions"."trial_end" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_churned_idx" ON "subscriptions" USING btree ("tenant_id","mode","churned_at") INCLUDE ("storefront_id","price_id","first_paid_at") WHERE "subscriptions"."churned_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "subscriptions_analytics_targeting_idx" ON "subscriptions" USING btree ("storefront_id","targeting_key") INCLUDE ("mode","created_at","converted_at") WHERE "subscriptions"."targeting_key" IS NOT NULL;--> statement-breakpoint
-- Backfill: the copies written before these columns existed (the same rules as
-- src/analytics/facts.ts; re-runnable, each touches only rows still without the fact).
UPDATE "subscription_events" e SET "storefront_id" = s."storefront_id", "mode" = s."mode"
  FROM "subscriptions" s WHERE e."subscription_id" = s."id" AND e."storefront_id" IS NULL;--> statement-breakpoint
UPDATE "payment_attempts" a SET "storefront_id" = p."storefront_id", "mode" = p."mode", "created_at" = p."created_at"
  FROM "payments" p WHERE a."payment_id" = p."id" AND a."storefront_id" IS NULL;--> statement-breakpoint
UPDATE "subscriptions" s SET
  "converted_at" = (SELECT min(e."occurred_at") FROM "subscription_events" e
    WHERE e."subscription_id" = s."id" AND e."type" IN ('activated', 'trial_started')),
  "first_paid_at" = (SELECT min(e."occurred_at") FROM "subscription_events" e
    WHERE e."subscription_id" = s."id" AND e."type" IN ('activated', 'recovered'))
  WHERE s."converted_at" IS NULL;--> statement-breakpoint
UPDATE "subscriptions" s SET "first_paid_price_id" = coalesce((SELECT e."data"->'from'->>'priceId'
    FROM "subscription_events" e WHERE e."subscription_id" = s."id" AND e."type" = 'plan_changed'
      AND e."occurred_at" > s."first_paid_at" ORDER BY e."seq" LIMIT 1), s."price_id")
  WHERE s."first_paid_at" IS NOT NULL AND s."first_paid_price_id" IS NULL;--> statement-breakpoint
UPDATE "subscriptions" SET "churned_at" = coalesce("ended_at", "cancelled_at")
  WHERE "churned_at" IS NULL AND "converted_at" IS NOT NULL AND "status" IN ('cancelled', 'ended');--> statement-breakpoint
-- Daily rollups kept by triggers (every writer: the objects' copies, the demo history, a
-- backfill), read by the stock and payment queries: their cost no longer grows with the rows.
CREATE TABLE IF NOT EXISTS "analytics_subscription_daily" (
	"tenant_id" text NOT NULL,
	"mode" "key_mode" NOT NULL,
	"day" date NOT NULL,
	"storefront_id" text NOT NULL,
	"currency" text DEFAULT '' NOT NULL,
	"converted" integer DEFAULT 0 NOT NULL,
	"churned" integer DEFAULT 0 NOT NULL,
	"mrr" numeric DEFAULT 0 NOT NULL,
	"shard" smallint DEFAULT 0 NOT NULL,
	CONSTRAINT "analytics_subscription_daily_pk" PRIMARY KEY("tenant_id","mode","day","storefront_id","currency","shard")
);--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "analytics_payment_daily" (
	"tenant_id" text NOT NULL,
	"mode" "key_mode" NOT NULL,
	"day" date NOT NULL,
	"storefront_id" text NOT NULL,
	"kind" text NOT NULL,
	"provider" text DEFAULT '' NOT NULL,
	"status" text NOT NULL,
	"decline_class" text DEFAULT '' NOT NULL,
	"n" bigint DEFAULT 0 NOT NULL,
	"shard" smallint DEFAULT 0 NOT NULL,
	CONSTRAINT "analytics_payment_daily_pk" PRIMARY KEY("tenant_id","mode","day","storefront_id","kind","provider","status","decline_class","shard")
);--> statement-breakpoint
CREATE OR REPLACE FUNCTION analytics_price_mrr(price text, OUT currency text, OUT mrr numeric) AS $$
  SELECT p.currency, CASE p.interval
      WHEN 'month' THEN p.amount::numeric / p.interval_count
      WHEN 'year' THEN p.amount::numeric / (12 * p.interval_count)
      WHEN 'week' THEN p.amount::numeric * 52 / (12 * p.interval_count)
      ELSE p.amount::numeric * 365 / (12 * p.interval_count) END
  FROM bundle_prices p WHERE p.id = price
$$ LANGUAGE sql STABLE;--> statement-breakpoint
-- `shard` (0–7, from the row's id) spreads one day's counter over eight rows, so concurrent
-- copies of one storefront rarely wait on the same row (a query sums the shards).
CREATE OR REPLACE FUNCTION analytics_shard(id text) RETURNS smallint AS $$
  SELECT (hashtext(id) & 7)::smallint
$$ LANGUAGE sql IMMUTABLE;--> statement-breakpoint
CREATE OR REPLACE FUNCTION analytics_sub_bump(t text, m key_mode, at timestamptz, sf text, cur text, conv integer, churn integer, delta numeric, sh smallint) RETURNS void AS $$
  INSERT INTO analytics_subscription_daily AS a (tenant_id, mode, day, storefront_id, currency, converted, churned, mrr, shard)
  VALUES (t, m, (at AT TIME ZONE 'UTC')::date, sf, cur, conv, churn, delta, sh)
  ON CONFLICT (tenant_id, mode, day, storefront_id, currency, shard) DO UPDATE
    SET converted = a.converted + excluded.converted, churned = a.churned + excluded.churned, mrr = a.mrr + excluded.mrr
$$ LANGUAGE sql;--> statement-breakpoint
-- A subscription row's movements (see src/services/analytics/queries.ts), with a sign.
CREATE OR REPLACE FUNCTION analytics_sub_contrib(r subscriptions, sign integer) RETURNS void AS $$
DECLARE p record;
BEGIN
  IF r.converted_at IS NOT NULL THEN
    PERFORM analytics_sub_bump(r.tenant_id, r.mode, r.converted_at, r.storefront_id, '', sign, 0, 0, analytics_shard(r.id));
  END IF;
  IF r.churned_at IS NOT NULL THEN
    PERFORM analytics_sub_bump(r.tenant_id, r.mode, r.churned_at, r.storefront_id, '', 0, sign, 0, analytics_shard(r.id));
  END IF;
  IF r.first_paid_at IS NOT NULL AND r.first_paid_price_id IS NOT NULL THEN
    SELECT * INTO p FROM analytics_price_mrr(r.first_paid_price_id);
    IF p.currency IS NOT NULL THEN
      PERFORM analytics_sub_bump(r.tenant_id, r.mode, r.first_paid_at, r.storefront_id, p.currency, 0, 0, sign * p.mrr, analytics_shard(r.id));
    END IF;
    IF r.churned_at IS NOT NULL AND r.first_paid_at <= r.churned_at THEN
      SELECT * INTO p FROM analytics_price_mrr(r.price_id);
      IF p.currency IS NOT NULL THEN
        PERFORM analytics_sub_bump(r.tenant_id, r.mode, r.churned_at, r.storefront_id, p.currency, 0, 0, -sign * p.mrr, analytics_shard(r.id));
      END IF;
    END IF;
  END IF;
END $$ LANGUAGE plpgsql;--> statement-breakpoint
CREATE OR REPLACE FUNCTION analytics_sub_trigger() RETURNS trigger AS $$
BEGIN
  -- Most copies change none of the facts: nothing to move.
  IF TG_OP = 'UPDATE'
    AND OLD.converted_at IS NOT DISTINCT FROM NEW.converted_at
    AND OLD.churned_at IS NOT DISTINCT FROM NEW.churned_at
    AND OLD.first_paid_at IS NOT DISTINCT FROM NEW.first_paid_at
    AND OLD.first_paid_price_id IS NOT DISTINCT FROM NEW.first_paid_price_id
    AND (NEW.churned_at IS NULL OR OLD.price_id = NEW.price_id)
    AND OLD.mode = NEW.mode AND OLD.storefront_id = NEW.storefront_id THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN PERFORM analytics_sub_contrib(OLD, -1); END IF;
  IF TG_OP <> 'DELETE' THEN PERFORM analytics_sub_contrib(NEW, 1); END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;--> statement-breakpoint
-- A plan change after the first payment and before churn moves MRR by the difference.
CREATE OR REPLACE FUNCTION analytics_plan_change_trigger() RETURNS trigger AS $$
DECLARE s record; pf record; pt record;
BEGIN
  SELECT * INTO s FROM subscriptions WHERE id = NEW.subscription_id;
  IF s.first_paid_at IS NULL OR NEW.occurred_at <= s.first_paid_at
    OR (s.churned_at IS NOT NULL AND NEW.occurred_at >= s.churned_at) THEN
    RETURN NULL;
  END IF;
  SELECT * INTO pf FROM analytics_price_mrr(NEW.data->'from'->>'priceId');
  SELECT * INTO pt FROM analytics_price_mrr(NEW.data->'to'->>'priceId');
  IF pf.currency IS NOT NULL AND pt.currency IS NOT NULL THEN
    PERFORM analytics_sub_bump(s.tenant_id, s.mode, NEW.occurred_at, s.storefront_id, pt.currency, 0, 0, pt.mrr - pf.mrr, analytics_shard(s.id));
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;--> statement-breakpoint
CREATE OR REPLACE FUNCTION analytics_pay_bump(t text, m key_mode, at timestamptz, sf text, k text, prov text, st text, cls text, d integer, sh smallint) RETURNS void AS $$
  INSERT INTO analytics_payment_daily AS a (tenant_id, mode, day, storefront_id, kind, provider, status, decline_class, n, shard)
  VALUES (t, m, (at AT TIME ZONE 'UTC')::date, sf, k, coalesce(prov, ''), st, coalesce(cls, ''), d, sh)
  ON CONFLICT (tenant_id, mode, day, storefront_id, kind, provider, status, decline_class, shard) DO UPDATE SET n = a.n + excluded.n
$$ LANGUAGE sql;--> statement-breakpoint
CREATE OR REPLACE FUNCTION analytics_attempt_trigger() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.storefront_id IS NOT NULL THEN
    PERFORM analytics_pay_bump(OLD.tenant_id, OLD.mode, OLD.created_at, OLD.storefront_id, 'attempt', OLD.provider, OLD.status, OLD.decline_class, -1, analytics_shard(OLD.id));
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.storefront_id IS NOT NULL THEN
    PERFORM analytics_pay_bump(NEW.tenant_id, NEW.mode, NEW.created_at, NEW.storefront_id, 'attempt', NEW.provider, NEW.status, NEW.decline_class, 1, analytics_shard(NEW.id));
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;--> statement-breakpoint
CREATE OR REPLACE FUNCTION analytics_payment_trigger() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.created_at = NEW.created_at AND OLD.mode = NEW.mode THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    PERFORM analytics_pay_bump(OLD.tenant_id, OLD.mode, OLD.created_at, OLD.storefront_id, 'payment', '', OLD.status::text, '', -1, analytics_shard(OLD.id));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM analytics_pay_bump(NEW.tenant_id, NEW.mode, NEW.created_at, NEW.storefront_id, 'payment', '', NEW.status::text, '', 1, analytics_shard(NEW.id));
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;--> statement-breakpoint
-- Backfill from the rows already there (once: only into empty rollups), then the triggers.
INSERT INTO analytics_subscription_daily (tenant_id, mode, day, storefront_id, currency, shard, converted, churned, mrr)
SELECT tenant_id, mode, day, storefront_id, currency, shard, sum(conv), sum(churn), sum(delta) FROM (
  SELECT tenant_id, mode, (converted_at AT TIME ZONE 'UTC')::date AS day, storefront_id, '' AS currency, analytics_shard(id) AS shard, 1 AS conv, 0 AS churn, 0::numeric AS delta
    FROM subscriptions WHERE converted_at IS NOT NULL
  UNION ALL
  SELECT tenant_id, mode, (churned_at AT TIME ZONE 'UTC')::date, storefront_id, '', analytics_shard(id), 0, 1, 0
    FROM subscriptions WHERE churned_at IS NOT NULL
  UNION ALL
  SELECT s.tenant_id, s.mode, (s.first_paid_at AT TIME ZONE 'UTC')::date, s.storefront_id, p.currency, analytics_shard(s.id), 0, 0, p.mrr
    FROM subscriptions s, analytics_price_mrr(s.first_paid_price_id) p
    WHERE s.first_paid_at IS NOT NULL AND p.currency IS NOT NULL
  UNION ALL
  SELECT s.tenant_id, s.mode, (s.churned_at AT TIME ZONE 'UTC')::date, s.storefront_id, p.currency, analytics_shard(s.id), 0, 0, -p.mrr
    FROM subscriptions s, analytics_price_mrr(s.price_id) p
    WHERE s.churned_at IS NOT NULL AND s.first_paid_at IS NOT NULL AND s.first_paid_at <= s.churned_at AND p.currency IS NOT NULL
  UNION ALL
  SELECT s.tenant_id, s.mode, (e.occurred_at AT TIME ZONE 'UTC')::date, s.storefront_id, pt.currency, analytics_shard(s.id), 0, 0, pt.mrr - pf.mrr
    FROM subscription_events e JOIN subscriptions s ON s.id = e.subscription_id,
      analytics_price_mrr(e.data->'from'->>'priceId') pf, analytics_price_mrr(e.data->'to'->>'priceId') pt
    WHERE e.type = 'plan_changed' AND s.first_paid_at IS NOT NULL AND e.occurred_at > s.first_paid_at
      AND (s.churned_at IS NULL OR e.occurred_at < s.churned_at) AND pf.currency IS NOT NULL AND pt.currency IS NOT NULL
) m
WHERE NOT EXISTS (SELECT 1 FROM analytics_subscription_daily)
GROUP BY 1, 2, 3, 4, 5, 6;--> statement-breakpoint
INSERT INTO analytics_payment_daily (tenant_id, mode, day, storefront_id, kind, provider, status, decline_class, shard, n)
SELECT tenant_id, mode, (created_at AT TIME ZONE 'UTC')::date, storefront_id, 'attempt', provider, status, coalesce(decline_class, ''), analytics_shard(id), count(*)
  FROM payment_attempts WHERE storefront_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM analytics_payment_daily)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
UNION ALL
SELECT tenant_id, mode, (created_at AT TIME ZONE 'UTC')::date, storefront_id, 'payment', '', status::text, '', analytics_shard(id), count(*)
  FROM payments WHERE NOT EXISTS (SELECT 1 FROM analytics_payment_daily)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;--> statement-breakpoint
DROP TRIGGER IF EXISTS analytics_subscriptions ON subscriptions;--> statement-breakpoint
CREATE TRIGGER analytics_subscriptions AFTER INSERT OR UPDATE OR DELETE ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION analytics_sub_trigger();--> statement-breakpoint
DROP TRIGGER IF EXISTS analytics_plan_changes ON subscription_events;--> statement-breakpoint
CREATE TRIGGER analytics_plan_changes AFTER INSERT ON subscription_events
  FOR EACH ROW WHEN (NEW.type = 'plan_changed') EXECUTE FUNCTION analytics_plan_change_trigger();--> statement-breakpoint
DROP TRIGGER IF EXISTS analytics_payment_attempts ON payment_attempts;--> statement-breakpoint
CREATE TRIGGER analytics_payment_attempts AFTER INSERT OR UPDATE OR DELETE ON payment_attempts
  FOR EACH ROW EXECUTE FUNCTION analytics_attempt_trigger();--> statement-breakpoint
DROP TRIGGER IF EXISTS analytics_payments ON payments;--> statement-breakpoint
CREATE TRIGGER analytics_payments AFTER INSERT OR UPDATE OR DELETE ON payments
  FOR EACH ROW EXECUTE FUNCTION analytics_payment_trigger();
