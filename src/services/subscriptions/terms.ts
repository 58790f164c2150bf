/**
 * The storefront's terms for a charge as published now (routing, killswitched providers,
 * dunning, whether a refund ends access): what a renewal, which has no request around it, reads before charging. From the
 * tenant's config object (killswitches, the snapshot version) and the storefront's snapshot in
 * KV, both cached in the isolate.
 */
import type { CurrentTerms } from '../../contracts/subscription';
import { edgeConfig } from '../../edge/config-store';
import { killedProviders } from '../../edge/killswitch';
import { HotConfigSchema } from '../../edge/snapshot';
import type { Env } from '../../env';
import { storefrontRouting } from '../payments/record';
import type { SubscriptionRecord } from './record';

export async function currentTerms(
  env: Env,
  r: Pick<SubscriptionRecord, 'tenantId' | 'storefrontId' | 'terms'>,
): Promise<CurrentTerms | null> {
  const stub = env.TENANT_CONFIG.get(env.TENANT_CONFIG.idFromName(r.tenantId));
  const read: { version: number; config?: unknown } = await stub.read(-1);
  const parsed = HotConfigSchema.safeParse(read.config);
  const config = parsed.success ? parsed.data : undefined;
  const version = config?.routing.storefronts[r.storefrontId]?.version;
  if (!config || version === undefined) return null;
  const { snapshot } = await edgeConfig.snapshot(env.CONFIG_KV, r.storefrontId, version);
  const sf = snapshot.storefront;
  const switches = config.storefronts[r.storefrontId]?.killswitches ?? [];
  return {
    terms: {
      routing: storefrontRouting(sf.paymentRouting, sf.paymentProviders),
      killed: [...killedProviders(switches, r.storefrontId, true)],
      configVersion: snapshot.version,
      ...(r.terms.country ? { country: r.terms.country } : {}),
    },
    dunning: sf.subscriptions.dunning,
    refundEndsAccess: sf.subscriptions.refundEndsAccess,
  };
}
