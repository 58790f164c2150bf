import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env';

/**
 * One step of an object's SQLite schema. Steps are applied in order, each once, each in its own
 * transaction with its row in `_migrations`, so a step that fails leaves nothing behind and is
 * tried again by the next call. The list is append-only: never edit or reorder a step that has
 * shipped, add the next one.
 */
export interface SqlMigration {
  /** 1, 2, 3…: the step's place in the list, recorded in `_migrations` once applied. */
  readonly id: number;
  /** What the step changes, for whoever reads `_migrations`. */
  readonly name: string;
  /** Statements run in order, or a function for a step that moves data. */
  readonly up: readonly string[] | ((sql: SqlStorage) => void);
}

/** A row of `_migrations`. */
export interface AppliedMigration {
  id: number;
  name: string;
  applied_at: number;
}

/**
 * The base of every stateful Durable Object: guarded initialization, versioned SQLite
 * migrations, the alarm re-arm pattern and serialized calls, written once.
 *
 * **Initialization.** An object's RPC methods (and its alarm, which the base runs) begin with
 * `await this.ready()`. The first call applies {@link migrations} and runs {@link onStart} under
 * `ctx.blockConcurrencyWhile`, so no other call sees the object half-started. An error there is
 * caught inside the block and rethrown outside it: the call that started the object fails, the
 * object is not reset (a throw inside the block would break every call in flight), and nothing
 * caches the failure — the next call starts again. An object with neither migrations nor
 * `onStart` (the rate limiter, on the hot path) need not call `ready()`.
 *
 * **Migrations.** Only for objects declared with `new_sqlite_classes` in wrangler.toml (they have
 * `ctx.storage.sql`); an object without migrations never touches SQL. A first step that creates
 * what an object made before it had migrations says `if not exists`, since such an object has
 * the tables but not `_migrations`.
 *
 * **The alarm re-arm pattern.** An object has one alarm. Every deadline it keeps (a lease's end,
 * a retry, a copy still to make) must be covered by that alarm, and the alarm handler must find
 * every deadline due by then and re-arm for the ones still pending. So a call that adds a
 * deadline calls {@link armAlarm}: the alarm moves earlier when the new deadline is sooner and
 * never later (a later alarm could skip a deadline the object does not see from this call), and
 * an alarm that fires early only finds less to do. The handler ({@link onAlarm}) does what is due
 * and arms again for the earliest of what remains; the alarm that fired is spent, so that arm
 * always sets one. An object whose whole schedule is a function of its state (every deadline is
 * in it, the publisher's) may set it exactly with {@link replaceAlarm}, later included, which
 * spares it an alarm with nothing to do. Set alarms only through these two, never
 * `ctx.storage.setAlarm` directly: the base keeps the alarm it set, saving a read per call. A
 * failed handler is retried by the runtime, so `onAlarm` must be safe to run again.
 *
 * **Serialized calls.** A Durable Object runs one event at a time only until it awaits something
 * other than its own storage (another object, a fetch): then the next call runs. A call that must
 * not interleave with another (decide, call out, record) runs in {@link serialized}.
 */
export abstract class StatefulDurableObject<E = Env> extends DurableObject<E> {
  /** The object's SQLite schema, oldest step first (see {@link SqlMigration}). */
  protected readonly migrations: readonly SqlMigration[] = [];

  #started = false;
  #starting = false;
  /** The alarm as this instance set or read it: undefined = not known, null = none. */
  #alarmAt: number | null | undefined;
  /** The serialized call under way (see {@link serialized}). */
  #chain: Promise<unknown> = Promise.resolve();

  /**
   * Loads what the object keeps in memory, once per instance, after the migrations. Runs under
   * `blockConcurrencyWhile`: no call runs beside it. It must not call methods that await
   * {@link ready} (they would return at once, before it finished).
   */
  protected onStart(): void | Promise<void> {}

  /** What the object does when its alarm fires, after {@link ready} (see the class comment). */
  protected onAlarm(_info?: AlarmInvocationInfo): void | Promise<void> {}

  /**
   * Resolves once the object has started: migrations applied, {@link onStart} done. The first
   * call starts it; a failed start fails that call only, and the next call tries again.
   */
  protected async ready(): Promise<void> {
    if (this.#started || this.#starting) return;
    // Assigned inside the callback; the cast keeps TypeScript from narrowing it to undefined.
    let failure = undefined as { error: unknown } | undefined;
    await this.ctx.blockConcurrencyWhile(async () => {
      if (this.#started) return; // started by a call that got here first
      this.#starting = true;
      try {
        this.#migrate();
        await this.onStart();
        this.#started = true;
      } catch (error) {
        failure = { error };
      } finally {
        this.#starting = false;
      }
    });
    if (failure) throw failure.error;
  }

  /** The runtime's alarm entry point: the handler is {@link onAlarm}. */
  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    // The alarm that fired is spent: the next armAlarm sets one whatever its deadline.
    this.#alarmAt = null;
    try {
      await this.ready();
      await this.onAlarm(info);
    } catch (err) {
      // The runtime retries a failed handler (the alarm stays set): no longer known here.
      this.#alarmAt = undefined;
      throw err;
    }
  }

  /**
   * Arms the alarm for the earliest of `deadlines` (epoch ms; null and undefined are none),
   * unless the alarm already set is earlier or the same: an alarm only ever moves earlier here.
   * Answers the alarm now set (null: none).
   */
  protected async armAlarm(
    ...deadlines: ReadonlyArray<number | null | undefined>
  ): Promise<number | null> {
    let wanted: number | null = null;
    for (const d of deadlines) {
      if (typeof d === 'number' && Number.isFinite(d) && (wanted === null || d < wanted)) {
        wanted = d;
      }
    }
    if (this.#alarmAt === undefined) {
      const stored = await this.ctx.storage.getAlarm();
      // A call that armed while this one read has the newer value.
      if (this.#alarmAt === undefined) this.#alarmAt = stored;
    }
    const current = this.#alarmAt;
    if (wanted === null || (current !== null && current <= wanted)) return current;
    await this.#writeAlarm(wanted);
    return wanted;
  }

  /**
   * Sets the alarm to `at` exactly, later than the one set included, or deletes it (null). For an
   * object whose every deadline is in its state, so `at` covers them all (see the class comment).
   */
  protected async replaceAlarm(at: number | null): Promise<void> {
    await this.#writeAlarm(at);
  }

  async #writeAlarm(at: number | null): Promise<void> {
    // Known before the write, so a call that arms meanwhile compares with it.
    this.#alarmAt = at;
    try {
      if (at === null) await this.ctx.storage.deleteAlarm();
      else await this.ctx.storage.setAlarm(at);
    } catch (err) {
      this.#alarmAt = undefined;
      throw err;
    }
  }

  /**
   * Runs `fn` once every serialized call before it has finished (succeeded or failed), so calls
   * that await other objects or the network cannot interleave: without it, two concurrent first
   * calls could each decide and act. `fn` must not wait for another serialized call of this
   * object (it would wait for itself).
   */
  protected serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => {});
    return run;
  }

  /**
   * Deletes everything the object stores (its tables and `_migrations` too) and its alarm. The
   * next call starts the object again (migrations, {@link onStart}); what the subclass holds in
   * memory is its own to drop.
   */
  protected async forget(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#alarmAt = null;
    this.#started = false;
  }

  /** The migrations applied to this object's storage, in order (tests, operations). */
  protected appliedMigrations(): AppliedMigration[] {
    return this.ctx.storage.sql
      .exec<{ id: number; name: string; applied_at: number }>(
        'select id, name, applied_at from _migrations order by id',
      )
      .toArray();
  }

  /** Applies the steps of {@link migrations} not applied yet, each in its own transaction. */
  #migrate(): void {
    const steps = this.migrations;
    if (steps.length === 0) return;
    steps.forEach((step, i) => {
      if (step.id !== i + 1) {
        throw new Error(`migration ${i + 1} (${step.name}) has id ${step.id}: ids are 1, 2, 3…`);
      }
    });
    const sql = this.ctx.storage.sql;
    sql.exec(`create table if not exists _migrations (
      id integer primary key, name text not null, applied_at integer not null)`);
    const applied = new Map(
      sql
        .exec<{ id: number; name: string }>('select id, name from _migrations')
        .toArray()
        .map((r) => [r.id, r.name]),
    );
    // Steps this code does not know (a newer deploy ran, then was rolled back) stay applied:
    // steps are additive, so the older code still works on them.
    for (const step of steps) {
      const done = applied.get(step.id);
      if (done !== undefined && done !== step.name) {
        // A step was edited, inserted or reordered after it shipped: refuse rather than guess.
        throw new Error(
          `migration ${step.id} was applied as "${done}" but is now "${step.name}": steps are append-only`,
        );
      }
      if (done !== undefined) continue;
      this.ctx.storage.transactionSync(() => {
        if (typeof step.up === 'function') step.up(sql);
        else for (const statement of step.up) sql.exec(statement);
        sql.exec(
          'insert into _migrations (id, name, applied_at) values (?, ?, ?)',
          step.id,
          step.name,
          Date.now(),
        );
      });
    }
  }
}
