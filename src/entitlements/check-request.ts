/** The body of `POST /v1/entitlements/check`, shared by the fast path and the OpenAPI document. */
import { z } from '@hono/zod-openapi';

export const CUSTOMER_ID_RE = /^cus_[0-9A-Z]{26}$/;
/** As entitlement definitions spell keys (src/services/tenant-config/spec.ts). */
export const ENTITLEMENT_KEY_RE = /^[a-z][a-z0-9_]{0,63}$/;

export const CustomerIdSchema = z
  .string()
  .regex(CUSTOMER_ID_RE, 'a customer id (cus_…)')
  .openapi({ example: 'cus_01JD8Y3W5T6X2Q9R4M7N8P0K1A' });
export const EntitlementKeySchema = z
  .string()
  .regex(ENTITLEMENT_KEY_RE, 'an entitlement key (a-z, 0-9, _; at most 64)');

export const ServerCheckRequestSchema = z.strictObject({
  customerId: CustomerIdSchema,
  key: EntitlementKeySchema,
});
