/** Every per-isolate cache of the edge, for tests that need a cold isolate. */
import { edgeConfig } from './config-store';
import { hosts } from './directory';
import { forgetViews } from './entitlement-views';
import { hotConfig } from './hot-config';
import { apiKeyStore } from './key-store';
import { revocations } from './revocations';
import { tenantRouting } from './tenant-routing';

/**
 * Also drops the per-location copies (the Cache API) of the tenants' hot config and of the
 * host directory's view: a cold isolate in a location that has not read them either.
 */
export async function resetEdgeCachesAndLocation(tenantIds: Iterable<string>): Promise<void> {
  await Promise.all([...tenantIds].map((id) => hotConfig.forgetLocation(id)));
  await hosts.directory.forgetLocation();
  resetEdgeCaches();
}

/** Forgets everything this isolate holds of the published config (as a cold isolate). */
export function resetEdgeCaches(): void {
  edgeConfig.reset();
  hotConfig.reset();
  hosts.reset();
  tenantRouting.reset();
  apiKeyStore.reset();
  revocations.reset();
  forgetViews();
}
