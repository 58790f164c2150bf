import type { TenantConfigContract, TenantConfigRead } from '../src/contracts/tenant-config';
import type { HotConfig } from '../src/edge/snapshot';
import { StatefulDurableObject } from './base';

/**
 * One object per tenant: the tenant's latest published config version and its hot config
 * (flags and killswitches per storefront). The publisher writes it right after KV; edge
 * isolates read it (through a per-location cache, see src/edge/hot-config.ts) so a flip takes
 * effect in about a second instead of KV's up-to-60 s propagation.
 */
export class TenantConfigDurableObject
  extends StatefulDurableObject
  implements TenantConfigContract
{
  private current: HotConfig | undefined;

  protected override async onStart(): Promise<void> {
    this.current = await this.ctx.storage.get<HotConfig>('hot');
  }

  /** Stores `config` unless a newer version is already here (publishes may race). */
  async publish(config: HotConfig): Promise<{ version: number; applied: boolean }> {
    await this.ready();
    if (this.current && this.current.version > config.version) {
      return { version: this.current.version, applied: false };
    }
    await this.ctx.storage.put('hot', config);
    this.current = config;
    return { version: config.version, applied: true };
  }

  /** The hot config, or only the version when the caller already has it. */
  async read(knownVersion = -1): Promise<TenantConfigRead> {
    await this.ready();
    const cur = this.current;
    if (!cur) return { version: -1 };
    return cur.version > knownVersion
      ? { version: cur.version, config: cur }
      : { version: cur.version };
  }
}
