import { Hono } from 'hono';
import { createApp, newRouter } from './app';
import { fastPath } from './edge/fast-path';
import { PREFIX_MOUNT_PATH } from './edge/reserved-paths';
import type { AppEnv, Env } from './env';
import { consumeExposures } from './queues/exposures';
import { analyticsAdminRoutes } from './routes/admin/analytics';
import { apiKeyAdminRoutes } from './routes/admin/api-keys';
import { auditAdminRoutes } from './routes/admin/audit';
import { configAdminRoutes } from './routes/admin/config';
import { customerAdminRoutes } from './routes/admin/customers';
import { edgeStatusAdminRoutes } from './routes/admin/edge-status';
import { entitlementGrantAdminRoutes } from './routes/admin/entitlement-grants';
import { paymentRoutingAdminRoutes, sandboxAdminRoutes } from './routes/admin/sandbox';
import { sessionRoutes } from './routes/admin/sessions';
import { signingKeyAdminRoutes } from './routes/admin/signing-keys';
import { storefrontAdminRoutes } from './routes/admin/storefronts';
import { catalogRoute } from './routes/catalog';
import { consoleRoutes } from './routes/console';
import { customerRoutes } from './routes/customers';
import { mountDocs } from './routes/docs';
import { entitlementRoutes, serverCheckRoute, tokenCheckRoute } from './routes/entitlements';
import { flagEvaluateRoute } from './routes/flags';
import { healthRoutes } from './routes/health';
import { internalRoutes } from './routes/internal';
import { paymentRoutes } from './routes/payments';
import { storefrontRoutes } from './routes/storefront';
import { subscriptionRoutes, testClockRoutes } from './routes/subscriptions';
import { webhookRoutes } from './routes/webhooks';

const storefrontApi = newRouter();
storefrontApi.route('/', storefrontRoutes);
storefrontApi.route('/', customerRoutes);
storefrontApi.route('/', paymentRoutes);
storefrontApi.route('/', subscriptionRoutes);
storefrontApi.route('/', testClockRoutes);
storefrontApi.route('/', entitlementRoutes);

const app = createApp();
app.route('/', healthRoutes);
app.route('/v1', storefrontApi);
app.route('/internal', internalRoutes);
app.route('/admin/v1', sessionRoutes);
app.route('/admin/v1', configAdminRoutes);
app.route('/admin/v1', auditAdminRoutes);
app.route('/admin/v1', analyticsAdminRoutes);
app.route('/admin/v1', apiKeyAdminRoutes);
app.route('/admin/v1', storefrontAdminRoutes);
app.route('/', consoleRoutes);
app.route('/', webhookRoutes);
app.route('/admin/v1', signingKeyAdminRoutes);
app.route('/admin/v1', sandboxAdminRoutes);
app.route('/admin/v1', paymentRoutingAdminRoutes);
app.route('/admin/v1', entitlementGrantAdminRoutes);
// The console's customer views and its live confirmation after a change.
app.route('/admin/v1', customerAdminRoutes);
app.route('/admin/v1', edgeStatusAdminRoutes);
// The same storefront API under a tenant's path prefix (`/eu/v1/catalog`). Mounted through a
// plain Hono router so the OpenAPI document lists each operation once. The prefix never
// matches a reserved segment (`/admin`, `/internal`…), so the mount order does not matter.
app.route(PREFIX_MOUNT_PATH, new Hono<AppEnv>().route('/', storefrontApi));
// Served by the direct dispatch below; registered so the OpenAPI document describes them.
for (const route of [catalogRoute, flagEvaluateRoute, tokenCheckRoute, serverCheckRoute]) {
  app.openAPIRegistry.registerPath({ ...route, path: `/v1${route.path}` });
}
mountDocs(app);

export { CustomerEntitlementsDurableObject } from '../durable-objects/customer-entitlements';
export { HostDirectoryDurableObject } from '../durable-objects/host-directory';
export { PaymentDurableObject } from '../durable-objects/payment';
export { PaymentMethodDurableObject } from '../durable-objects/payment-method';
export { ProviderHealthDurableObject } from '../durable-objects/provider-health';
export { PublisherDurableObject } from '../durable-objects/publisher';
export { RateLimiterDurableObject } from '../durable-objects/rate-limiter';
export { SandboxProviderDurableObject } from '../durable-objects/sandbox-provider';
export { SubscriptionDurableObject } from '../durable-objects/subscription';
export { TenantConfigDurableObject } from '../durable-objects/tenant-config';
export { TestClockDurableObject } from '../durable-objects/test-clock';

export default {
  fetch: (request, env, ctx) => fastPath(request, env, ctx) ?? app.fetch(request, env, ctx),
  queue: (batch, env) => consumeExposures(batch as MessageBatch<never>, env),
} satisfies ExportedHandler<Env>;
