-- Webhooks, second part: the dispatcher's claim index, and the API role's access to the
-- webhook tables under row-level security (an agency sees and manages only its own
-- subscriptions, their deliveries and attempts, and its own notices). The dispatcher
-- connects as the owner and is not bound by these policies; the API (lookout_api,
-- migration 008) is.

-- Claims walk each active subscription's due rows in order: an index per subscription,
-- holding only rows still to send, so delivered history never slows a claim.
CREATE INDEX IF NOT EXISTS webhook_deliveries_due_per_subscription
    ON webhook_deliveries (subscription_id, next_attempt_at)
    WHERE status IN ('pending', 'failed');

GRANT SELECT, INSERT, DELETE ON webhook_subscriptions TO lookout_api;
GRANT UPDATE (secret, previous_secret, previous_secret_until, active, disabled_at,
    disabled_reason, failing_since, updated_at) ON webhook_subscriptions TO lookout_api;
GRANT SELECT, INSERT ON webhook_deliveries TO lookout_api;
GRANT UPDATE (status, attempts, redeliveries, next_attempt_at, claimed_until, last_attempt_at,
    last_status_code, last_error, delivered_at) ON webhook_deliveries TO lookout_api;
GRANT SELECT, INSERT ON webhook_attempts TO lookout_api;
GRANT SELECT ON admin_notices TO lookout_api;
GRANT UPDATE (acknowledged_at) ON admin_notices TO lookout_api;

ALTER TABLE webhook_subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY webhook_subscriptions_own ON webhook_subscriptions FOR ALL TO lookout_api
    USING (agency_id = (SELECT lookout_agency()))
    WITH CHECK (agency_id = (SELECT lookout_agency()));

-- The IN (...) subquery reads the caller's subscriptions once per query (a hashed subplan).
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY webhook_deliveries_own ON webhook_deliveries FOR ALL TO lookout_api
    USING (subscription_id IN (SELECT subscription_id FROM webhook_subscriptions));

ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY webhook_attempts_own ON webhook_attempts FOR ALL TO lookout_api
    USING (subscription_id IN (SELECT subscription_id FROM webhook_subscriptions));

ALTER TABLE admin_notices ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_notices_own ON admin_notices FOR ALL TO lookout_api
    USING (agency_id = (SELECT lookout_agency()));
