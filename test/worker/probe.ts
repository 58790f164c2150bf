/**
 * A Durable Object that exists only in tests (bound as `PROBE` by vitest.config.ts, never in
 * wrangler.toml): the smallest object on the base, so the base's guarantees (start retried after
 * a failure, migrations once and in order, the alarm re-arm pattern, serialized calls, outcomes
 * across RPC) are tested on their own, through real RPC and a real alarm.
 */
import { type SqlMigration, StatefulDurableObject } from '../../durable-objects/base';
import { asOutcome, InvalidStateError, type Outcome } from '../../src/domain/errors';

export const PROBE_MIGRATIONS: readonly SqlMigration[] = [
  {
    id: 1,
    name: 'notes',
    up: ['create table notes (seq integer primary key autoincrement, text text not null)'],
  },
  { id: 2, name: 'note two', up: ["insert into notes (text) values ('two')"] },
  {
    id: 3,
    name: 'note three, as a data step',
    up: (sql) => {
      sql.exec('insert into notes (text) values (?)', 'three');
    },
  },
];

export interface ProbeInfo {
  /** Made once per instance: the same value means the object was not reset. */
  instance: string;
  /** How many times this instance ran onStart. */
  starts: number;
  migrations: { id: number; name: string }[];
  notes: string[];
}

export class ProbeDurableObject extends StatefulDurableObject {
  protected override readonly migrations: readonly SqlMigration[] = PROBE_MIGRATIONS;
  private readonly instance = crypto.randomUUID();
  private starts = 0;
  private readonly log: string[] = [];

  /** Fails while the stored `failStarts` is above 0 (counting it down), as a broken start would. */
  protected override async onStart(): Promise<void> {
    this.starts += 1;
    const failing = this.ctx.storage.kv.get<number>('failStarts') ?? 0;
    if (failing > 0) {
      this.ctx.storage.kv.put('failStarts', failing - 1);
      throw new Error('start failed');
    }
  }

  async info(): Promise<ProbeInfo> {
    await this.ready();
    return {
      instance: this.instance,
      starts: this.starts,
      migrations: this.appliedMigrations().map(({ id, name }) => ({ id, name })),
      notes: this.ctx.storage.sql
        .exec<{ text: string }>('select text from notes order by seq')
        .toArray()
        .map((r) => r.text),
    };
  }

  /** Adds deadlines the alarm must run by, armed with the re-arm pattern. */
  async addDeadlines(...deadlines: number[]): Promise<number | null> {
    await this.ready();
    const pending = [...this.pending(), ...deadlines];
    this.ctx.storage.kv.put('pending', pending);
    return this.armAlarm(...deadlines);
  }

  /** Sets the alarm exactly (replaceAlarm). */
  async replace(at: number | null): Promise<number | null> {
    await this.ready();
    await this.replaceAlarm(at);
    return this.ctx.storage.getAlarm();
  }

  /** Deadlines the alarm handled, in the order it handled them. */
  async alarmState(): Promise<{ done: number[]; pending: number[]; alarm: number | null }> {
    await this.ready();
    return {
      done: this.ctx.storage.kv.get<number[]>('done') ?? [],
      pending: this.pending(),
      alarm: await this.ctx.storage.getAlarm(),
    };
  }

  /** Handles the deadlines due (`now` lets a test fire a later alarm early), re-arms for the rest. */
  protected override async onAlarm(): Promise<void> {
    const now = this.ctx.storage.kv.get<number>('now') ?? Date.now();
    const pending = this.pending();
    const due = pending.filter((d) => d <= now);
    const rest = pending.filter((d) => d > now);
    this.ctx.storage.kv.put('done', [...(this.ctx.storage.kv.get<number[]>('done') ?? []), ...due]);
    this.ctx.storage.kv.put('pending', rest);
    await this.armAlarm(...rest);
  }

  private pending(): number[] {
    return this.ctx.storage.kv.get<number[]>('pending') ?? [];
  }

  /**
   * Enters, waits `ms` on a timer (not storage: other calls may run meanwhile), leaves; in
   * {@link serialized} when asked. `fail` throws after the wait.
   */
  async step(label: string, ms: number, serial: boolean, fail = false): Promise<string> {
    await this.ready();
    const run = async () => {
      this.log.push(`${label}>`);
      await new Promise((r) => setTimeout(r, ms));
      this.log.push(`<${label}`);
      if (fail) throw new Error(`${label} failed`);
      return label;
    };
    return serial ? this.serialized(run) : run();
  }

  async steps(): Promise<string[]> {
    return [...this.log];
  }

  /** A refusal as an Outcome (what crosses RPC intact). */
  async refuse(state: string): Promise<Outcome<string>> {
    await this.ready();
    return asOutcome(() => {
      if (state !== 'active') {
        throw new InvalidStateError(`The thing is ${state}.`, {
          state,
          allowed: ['active'],
          code: 'thing_not_active',
        });
      }
      return 'done';
    });
  }

  /** The same refusal thrown (what RPC strips to a plain Error). */
  async refuseByThrowing(state: string): Promise<string> {
    await this.ready();
    throw new InvalidStateError(`The thing is ${state}.`, { state });
  }
}
