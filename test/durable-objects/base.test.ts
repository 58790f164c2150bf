import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { SqlMigration } from '../../durable-objects/base';
import { HOST_DIRECTORY_MIGRATIONS } from '../../durable-objects/host-directory';
import { DomainError, InvalidStateError, type Outcome, unwrap } from '../../src/domain/errors';
import { apiErrorOf } from '../../src/errors';
import { unique } from '../helpers/factories';
import { PROBE_MIGRATIONS, ProbeDurableObject } from '../worker/probe';

/** A fresh probe object. */
const probe = () => env.PROBE.get(env.PROBE.idFromName(`probe:${unique()}`));

const failure = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );

describe('StatefulDurableObject: start', () => {
  it('a failed start fails that call only; the next call starts again, on the same instance', async () => {
    const stub = probe();
    await runInDurableObject(stub, (_, state) => state.storage.kv.put('failStarts', 2));
    expect(await failure(stub.info())).toBe('start failed');
    expect(await failure(stub.info())).toBe('start failed');
    const first = await stub.info();
    // Not cached as a rejected start, and not a reset object: the same instance tried again.
    expect(first.starts).toBe(3);
    expect(first.notes).toEqual(['two', 'three']);
    const again = await stub.info();
    expect(again).toEqual(first); // started once: later calls do not start it again
  });

  it('concurrent first calls wait for one start', async () => {
    const stub = probe();
    const answers = await Promise.all([stub.info(), stub.info(), stub.info()]);
    expect(new Set(answers.map((a) => a.instance)).size).toBe(1);
    expect(answers.map((a) => a.starts)).toEqual([1, 1, 1]);
  });
});

describe('StatefulDurableObject: migrations', () => {
  it('applies each step once, in order, and records it in _migrations', async () => {
    const stub = probe();
    const info = await stub.info();
    expect(info.migrations).toEqual([
      { id: 1, name: 'notes' },
      { id: 2, name: 'note two' },
      { id: 3, name: 'note three, as a data step' },
    ]);
    expect(info.notes).toEqual(['two', 'three']);
    // A new instance over the same storage (an eviction, a deploy) applies nothing again.
    const restarted = await runInDurableObject(stub, (_, state) =>
      new ProbeDurableObject(state, env).info(),
    );
    expect(restarted.instance).not.toBe(info.instance);
    expect(restarted.notes).toEqual(['two', 'three']);
    expect(restarted.migrations).toEqual(info.migrations);
  });

  it('a deploy that appends a step applies only that step', async () => {
    const stub = probe();
    await stub.info();
    const grown = await runInDurableObject(stub, (_, state) => {
      class Grown extends ProbeDurableObject {
        protected override readonly migrations: readonly SqlMigration[] = [
          ...PROBE_MIGRATIONS,
          { id: 4, name: 'note four', up: ["insert into notes (text) values ('four')"] },
        ];
      }
      return new Grown(state, env).info();
    });
    expect(grown.notes).toEqual(['two', 'three', 'four']);
    expect(grown.migrations.map((m) => m.id)).toEqual([1, 2, 3, 4]);
  });

  it('a failing step is rolled back, not recorded, and tried again by the next call', async () => {
    const stub = probe();
    await stub.info();
    const outcome = await runInDurableObject(stub, async (_, state) => {
      let broken = true;
      class Broken extends ProbeDurableObject {
        protected override readonly migrations: readonly SqlMigration[] = [
          ...PROBE_MIGRATIONS,
          {
            id: 4,
            name: 'note four',
            up: (sql) => {
              sql.exec("insert into notes (text) values ('four')");
              if (broken) throw new Error('step 4 broke');
            },
          },
        ];
      }
      const obj = new Broken(state, env);
      const first = await failure(obj.info());
      const notesAfterFailure = state.storage.sql
        .exec<{ text: string }>('select text from notes order by seq')
        .toArray()
        .map((r) => r.text);
      broken = false;
      return { first, notesAfterFailure, second: await obj.info() };
    });
    expect(outcome.first).toBe('step 4 broke');
    expect(outcome.notesAfterFailure).toEqual(['two', 'three']);
    expect(outcome.second.notes).toEqual(['two', 'three', 'four']);
    expect(outcome.second.migrations.map((m) => m.id)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a list whose ids are not 1, 2, 3…, or a shipped step that changed', async () => {
    const stub = probe();
    await stub.info();
    const answers = await runInDurableObject(stub, async (_, state) => {
      const withSteps = (steps: readonly SqlMigration[]) =>
        class extends ProbeDurableObject {
          protected override readonly migrations = steps;
        };
      const [one, two, three] = PROBE_MIGRATIONS;
      if (!one || !two || !three) throw new Error('probe migrations changed');
      const Gap = withSteps([one, { ...three, id: 3 }]);
      const Renamed = withSteps([one, { ...two, name: 'note 2' }, three]);
      return {
        gap: await failure(new Gap(state, env).info()),
        renamed: await failure(new Renamed(state, env).info()),
      };
    });
    expect(answers.gap).toMatch(/has id 3: ids are 1, 2, 3/);
    expect(answers.renamed).toMatch(/applied as "note two" but is now "note 2"/);
  });

  it('the host directory: an object made before migrations keeps its tables and rows', async () => {
    const stub = env.HOST_DIRECTORY.get(env.HOST_DIRECTORY.idFromName(`test:${unique()}`));
    // What the directory's constructor created before it had migrations, with a host in it.
    await runInDurableObject(stub, (_, state) => {
      const sql = state.storage.sql;
      sql.exec(`create table if not exists hosts (
        host text primary key, tenant_id text not null, storefront_id text, since integer not null)`);
      sql.exec('create index if not exists hosts_tenant on hosts (tenant_id)');
      sql.exec(`create table if not exists changes (
        seq integer primary key autoincrement, host text not null, entry text, at integer not null)`);
      sql.exec("insert into hosts values ('old.example', 'ten_old', null, 1)");
      sql.exec("insert into changes (host, entry, at) values ('old.example', null, ?)", Date.now());
    });
    expect(await stub.owner('old.example')).toEqual({ tenantId: 'ten_old', storefrontId: null });
    expect((await stub.read()).seq).toBe(1);
    const applied = await runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec<{ id: number; name: string }>('select id, name from _migrations')
        .toArray(),
    );
    expect(applied).toEqual(HOST_DIRECTORY_MIGRATIONS.map(({ id, name }) => ({ id, name })));
  });
});

describe('StatefulDurableObject: the alarm re-arm pattern', () => {
  it('the alarm only moves earlier; the handler does what is due and re-arms for the rest', async () => {
    const stub = probe();
    const t = Date.now() + 3_600_000; // far off: the test fires the alarm itself
    expect(await stub.addDeadlines(t + 10_000)).toBe(t + 10_000);
    expect(await stub.addDeadlines(t + 20_000)).toBe(t + 10_000); // never later
    expect(await stub.addDeadlines(t + 5_000, t + 30_000)).toBe(t + 5_000); // the earliest
    expect((await stub.alarmState()).alarm).toBe(t + 5_000);

    // The alarm fires (at t + 5 s as the handler sees it): one deadline is due, two are not.
    await runInDurableObject(stub, (_, state) => state.storage.kv.put('now', t + 5_000));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    let s = await stub.alarmState();
    expect(s.done).toEqual([t + 5_000]);
    expect(s.pending).toEqual([t + 10_000, t + 20_000, t + 30_000]);
    // Re-armed for the earliest pending one, though later than the alarm that fired.
    expect(s.alarm).toBe(t + 10_000);

    await runInDurableObject(stub, (_, state) => state.storage.kv.put('now', t + 25_000));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    s = await stub.alarmState();
    expect(s.done).toEqual([t + 5_000, t + 10_000, t + 20_000]);
    expect(s.alarm).toBe(t + 30_000);

    await runInDurableObject(stub, (_, state) => state.storage.kv.put('now', t + 30_000));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    s = await stub.alarmState();
    expect(s.pending).toEqual([]);
    expect(s.alarm).toBeNull(); // nothing pending: no alarm
    // With no alarm set, a new deadline arms one.
    expect(await stub.addDeadlines(t + 90_000)).toBe(t + 90_000);
  });

  it('a new instance reads the alarm set before it; replaceAlarm may move it later', async () => {
    const stub = probe();
    const t = Date.now() + 3_600_000;
    await stub.addDeadlines(t);
    const later = await runInDurableObject(stub, async (_, state) => {
      const fresh = new ProbeDurableObject(state, env);
      return fresh.addDeadlines(t + 1_000);
    });
    expect(later).toBe(t); // the stored alarm, earlier, stays
    expect(await stub.replace(t + 60_000)).toBe(t + 60_000);
    expect(await stub.addDeadlines(t + 61_000)).toBe(t + 60_000);
    expect(await stub.replace(null)).toBeNull();
  });
});

describe('StatefulDurableObject: serialized', () => {
  it('serialized calls never interleave, and a failure does not block the next', async () => {
    const stub = probe();
    await stub.info();
    const results = await Promise.allSettled([
      stub.step('a', 30, true),
      stub.step('b', 30, true, true),
      stub.step('c', 30, true),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // Whatever order they arrived in, each call left before the next entered.
    const log = await stub.steps();
    expect(log).toHaveLength(6);
    for (let i = 0; i < log.length; i += 2) {
      expect(`<${log[i]?.slice(0, -1)}`).toBe(log[i + 1]);
    }
  });

  it('(without it, calls that wait on I/O interleave)', async () => {
    const stub = probe();
    await stub.info();
    await Promise.all([stub.step('a', 30, false), stub.step('b', 30, false)]);
    const log = await stub.steps();
    expect(log.slice(0, 2).every((e) => e.endsWith('>'))).toBe(true); // both in before either left
  });
});

describe('Outcome across Durable Object RPC', () => {
  it('a refusal crosses as data and unwraps to the same domain error', async () => {
    const stub = probe();
    const outcome: Outcome<string> = await stub.refuse('paused');
    expect(outcome).toEqual({
      ok: false,
      error: {
        kind: 'invalid_state',
        code: 'thing_not_active',
        message: 'The thing is paused.',
        state: 'paused',
        allowed: ['active'],
      },
    });
    let thrown: unknown;
    try {
      unwrap(outcome);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidStateError);
    const api = apiErrorOf(thrown as DomainError);
    expect(api.status).toBe(409);
    expect(api.extensions).toEqual({
      code: 'thing_not_active',
      state: 'paused',
      allowed: ['active'],
    });
    expect(unwrap(await stub.refuse('active'))).toBe('done');
  });

  it('(a domain error thrown across RPC arrives as a plain Error: why objects answer Outcomes)', async () => {
    const stub = probe();
    const err = await stub.refuseByThrowing('paused').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(DomainError);
    expect((err as Error).message).toContain('The thing is paused.');
    expect((err as { state?: unknown }).state).toBeUndefined();
  });
});
