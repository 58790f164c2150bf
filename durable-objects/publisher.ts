import type { PublisherContract, PublisherState } from '../src/contracts/publisher';
import { getDb } from '../src/db/client';
import {
  emptyPublishState,
  envTargets,
  flushRouting,
  publishTenant,
  routingDueAt,
  SNAPSHOT_REFRESH_AFTER_MS,
  type TenantPublishResult,
} from '../src/services/publish/publish';
import { StatefulDurableObject } from './base';

/**
 * One object per tenant (named by the tenant id): the one writer of that tenant's published
 * read model. KV is last-write-wins, so two publishes of a tenant racing could leave an older
 * snapshot pointer on top of a newer one; this object runs them one at a time. Requests that
 * arrive while a publish runs share the next one, which starts after they committed and so
 * includes their changes. Tenants never wait for each other: each has its own object.
 *
 * Its storage keeps what it published (per storefront the content hash and version, the host
 * set's hash), so the next publish writes only what changed. Its alarm writes a routing entry
 * that was deferred (KV takes one write a second per key), continues a bulk key import (at most
 * 1,000 key entries per publish) and re-writes served snapshots before their KV TTL ends.
 *
 * Its publishes coalesce rather than queue one by one, so it does not use the base's
 * `serialized`; its state loads lazily (on the first call that needs it), so it has no
 * `onStart`. From the base it takes the alarm: the schedule is a function of its state (every
 * deadline is in it), so each publish sets it exactly ({@link replaceAlarm}), later included,
 * rather than leave an earlier alarm that would only run a publish with nothing due.
 */
export class PublisherDurableObject extends StatefulDurableObject implements PublisherContract {
  private running: Promise<TenantPublishResult> | undefined;
  private queued: Promise<TenantPublishResult> | undefined;
  private state: PublisherState | undefined;

  private async load(): Promise<PublisherState> {
    this.state ??= (await this.ctx.storage.get<PublisherState>('state')) ?? emptyPublishState();
    return this.state;
  }

  /** Publishes `tenantId` (this object's tenant) from Postgres. */
  async publish(tenantId: string): Promise<TenantPublishResult> {
    if (!this.running) return this.start(tenantId);
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start(tenantId);
      });
    return this.queued;
  }

  private start(tenantId: string, refreshBefore?: number): Promise<TenantPublishResult> {
    const run = (async () => {
      const state = await this.load();
      if (state.tenantId && state.tenantId !== tenantId) {
        throw new Error(`this publisher belongs to tenant ${state.tenantId}, not ${tenantId}`);
      }
      state.tenantId = tenantId;
      const { db, close } = getDb(this.env);
      try {
        const result = await publishTenant(db, tenantId, envTargets(this.env), state, {
          refreshBefore,
        });
        await this.ctx.storage.put('state', state);
        await this.schedule(state);
        return result;
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

  /**
   * The next alarm: keys left by a bulk import (soon), a deferred routing write, else the next
   * TTL refresh of a snapshot.
   */
  private async schedule(state: PublisherState): Promise<void> {
    if (state.keysPending) {
      await this.replaceAlarm(Date.now() + 100);
      return;
    }
    const due = routingDueAt(state);
    const written = Object.values(state.snapshots).map((s) => s.writtenAt);
    const refresh =
      written.length > 0 ? Math.min(...written) + SNAPSHOT_REFRESH_AFTER_MS : undefined;
    const at = due ?? refresh;
    if (at !== undefined) await this.replaceAlarm(at);
  }

  protected override async onAlarm(): Promise<void> {
    const state = await this.load();
    const tenantId = state.tenantId;
    if (!tenantId) return;
    if (state.pendingRouting && !state.keysPending) {
      // Between publishes: a running publish writes (or defers) the newest routing itself.
      if (!this.running) {
        await flushRouting(this.env.CONFIG_KV, tenantId, state);
        await this.ctx.storage.put('state', state);
      }
      await this.schedule(state);
      return;
    }
    // Keys left to write, or a TTL refresh: publish (writing again every snapshot served since
    // before the refresh deadline).
    await this.start(tenantId, Date.now() - SNAPSHOT_REFRESH_AFTER_MS + 60_000);
  }

  /** What this object remembers (tests, operations). */
  async inspect(): Promise<PublisherState> {
    return structuredClone(await this.load());
  }
}
