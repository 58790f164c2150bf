import { DurableObject } from 'cloudflare:workers';
import { getDb } from '../src/db/client';
import type { Env } from '../src/env';
import {
  durableObjectSignal,
  type PublishResult,
  publishConfig,
  type TenantRoutingEntry,
} from '../src/services/publish/publish';

/**
 * The one writer of the published read model. KV is last-write-wins, so two publishes racing
 * could leave an older routing table on top of a newer one; every publish goes through this
 * single object, one at a time. Requests that arrive while a publish runs share the next one,
 * which starts after they committed and so includes their changes.
 *
 * It also remembers, while it lives, the routing entry it last wrote for each tenant: a tenant
 * that cannot be published (too large, a failed write) keeps that one (after an eviction the
 * publisher takes it from the routing table in KV instead, see publishConfig).
 */
export class PublisherDurableObject extends DurableObject<Env> {
  private running: Promise<PublishResult> | undefined;
  private queued: Promise<PublishResult> | undefined;
  private readonly lastPublished = new Map<string, TenantRoutingEntry>();

  async publish(): Promise<PublishResult> {
    if (!this.running) return this.start();
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<PublishResult> {
    const run = (async () => {
      const { db, close } = getDb(this.env);
      try {
        return await publishConfig(db, {
          kv: this.env.CONFIG_KV,
          signal: durableObjectSignal(this.env.TENANT_CONFIG),
          lastPublished: this.lastPublished,
        });
      } finally {
        await close();
      }
    })();
    this.running = run;
    run
      .finally(() => {
        if (this.running === run) this.running = undefined;
      })
      .catch(() => {});
    return run;
  }
}
