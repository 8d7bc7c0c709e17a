// RBAC derived from the datamodel: every message of every class, called by a local user of each
// of the six roles (and by local root), against a real daemon. A role below the message's least
// role gets xapi's RBAC_PERMISSION_DENIED [permission, message]; a role at or above gets anything
// but that; the internal pool messages refuse every user, local root's own login included. Then
// the ownership rules: tasks (xapi's assert_op_valid and task.destroy/any) and sessions.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROLES, roleAllows, rolesAtLeast, type Role } from '../src/model/index.ts';
import { call, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { deniedFor, modelMessages, placeholderArgs } from './helpers/placeholders.ts';

const PASSWORD = 'rbac-model-pw';
const userOf = (r: Role | 'root') => (r === 'root' ? 'root' : `u-${r}`);
const TASK_ANY = deniedFor('task.destroy/any', ['pool-admin', 'pool-operator']);

/** The [code, ...params] a call fails with, or ['OK']. */
async function outcome(url: string, method: string, params: unknown[]): Promise<string[]> {
  try {
    await call(url, method, params);
    return ['OK'];
  } catch (e) {
    const d = (e as { description?: string[] }).description;
    if (d) return d;
    throw e;
  }
}

describe('RBAC derived from the model', () => {
  let d: TestDaemon;
  let root: string;
  const WHO = [...ROLES, 'root'] as const;
  type Who = (typeof WHO)[number];
  /** Per user: the session that makes the calls, one for event.register, one to log out, one more of the same subject. */
  const main = {} as Record<Who, string>;
  const scratch = {} as Record<Who, string>;
  const toLogOut = {} as Record<Who, string>;
  const second = {} as Record<Who, string>;
  let ro2: string;

  before(async () => {
    d = await startTestDaemon();
    root = await login(d.url);
    for (const r of ROLES) await call(d.url, 'subject.create_local_user', [root, userOf(r), PASSWORD, [r]]);
    await call(d.url, 'subject.create_local_user', [root, 'u-read-only-2', PASSWORD, ['read-only']]);
    for (const w of WHO) {
      const pw = w === 'root' ? undefined : PASSWORD;
      main[w] = await login(d.url, userOf(w), pw);
      scratch[w] = await login(d.url, userOf(w), pw);
      toLogOut[w] = await login(d.url, userOf(w), pw);
      second[w] = await login(d.url, userOf(w), pw);
    }
    ro2 = await login(d.url, 'u-read-only-2', PASSWORD);
  });
  after(async () => { await d?.dispose(); });

  it('every message: below its least role RBAC_PERMISSION_DENIED with xapi\'s parameters, at or above never', async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const { wire, msg } of modelMessages()) {
      if (msg.sessionless) continue;
      const permission = wire.toLowerCase();
      for (const w of WHO) {
        // event.register would make event.next wait; session.logout would end the session
        const s = wire === 'session.logout' ? toLogOut[w] : wire.startsWith('event.') && wire !== 'event.next' ? scratch[w] : main[w];
        const got = await outcome(d.url, wire, [s, ...placeholderArgs(msg.params)]);
        const least = msg.role;
        const allowed = w === 'root' ? least !== 'pool-member' : roleAllows([w], least);
        checked++;
        if (allowed) {
          if (got[0] === 'RBAC_PERMISSION_DENIED') wrong.push(`${wire} as ${w}: refused ${JSON.stringify(got)}, but its least role is ${least}`);
        } else if (JSON.stringify(got) !== JSON.stringify(deniedFor(permission, rolesAtLeast(least)))) {
          wrong.push(`${wire} as ${w} (least role ${least}): ${JSON.stringify(got)}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(checked > 3000, `${checked} calls`);
  });

  it('the internal pool messages refuse every user role and local root\'s own login', async () => {
    const internal = modelMessages().filter((m) => m.msg.role === 'pool-member').map((m) => m.wire).sort();
    assert.deepEqual(internal, ['pool.eject_self', 'pool.join_introduce', 'pool.replica_from', 'pool.replica_write']);
    for (const { wire, msg } of modelMessages().filter((m) => m.msg.role === 'pool-member')) {
      for (const w of WHO) assert.deepEqual(await failure(call(d.url, wire, [main[w], ...placeholderArgs(msg.params)])), deniedFor(wire.toLowerCase(), []), `${wire} as ${w}`);
    }
    // authorising a join hands the joining host the pool database: local root only
    for (const r of ROLES) assert.deepEqual(await failure(call(d.url, 'pool.join_request', [main[r], '127.0.0.1:1', '', 'n'])), deniedFor('pool.join_request', []));
    // the sessionless ones want the secret, or the nonce of a join in progress
    assert.equal((await failure(call(d.url, 'session.slave_login', ['OpaqueRef:NULL', 'not-the-secret'])))[0], 'SESSION_AUTHENTICATION_FAILED');
    assert.equal((await failure(call(d.url, 'pool.join_deliver', ['no-join-in-progress', 'x'])))[0], 'SESSION_AUTHENTICATION_FAILED');
  });

  it('tasks: a session acts only on its own subject\'s tasks; task.destroy/any is pool-operator and above', async () => {
    const rootTask = (await call(d.url, 'task.create', [root, 'root\'s', ''])) as string;
    const asyncTask = (await call(d.url, 'Async.pool.sync_database', [root])) as string;
    const before = await call(d.url, 'task.get_record', [root, rootTask]);
    const acts: [string, unknown[]][] = [
      ['task.destroy', []], ['task.cancel', []], ['task.set_status', ['success']], ['task.set_progress', [0.5]],
      ['task.set_result', ['x']], ['task.set_error_info', [['X']]], ['task.add_to_other_config', ['k', 'v']],
      ['task.set_other_config', [{ k: 'v' }]], ['task.remove_from_other_config', ['k']],
    ];
    for (const [method, rest] of acts) {
      for (const s of [main['read-only'], ro2, main['vm-admin'], main['vm-power-admin']]) {
        assert.deepEqual(await failure(call(d.url, method, [s, rootTask, ...rest])), TASK_ANY, `${method} on root's task`);
      }
      assert.deepEqual(await failure(call(d.url, method, [ro2, asyncTask, ...rest])), TASK_ANY, `${method} on root's Async task`);
    }
    assert.deepEqual(await call(d.url, 'task.get_record', [root, rootTask]), before, 'nothing changed');
    // reading is open to every role
    assert.equal(await call(d.url, 'task.get_name_label', [ro2, rootTask]), 'root\'s');

    // the owner, from any session of its subject, even after the one that made the task ended
    const mine = (await call(d.url, 'task.create', [main['read-only'], 'mine', ''])) as string;
    await call(d.url, 'task.set_progress', [second['read-only'], mine, 0.5]);
    await call(d.url, 'task.add_to_other_config', [main['read-only'], mine, 'k', 'v']);
    assert.deepEqual(await failure(call(d.url, 'task.destroy', [ro2, mine])), TASK_ANY, 'another read-only user');
    const gone = await login(d.url, userOf('read-only'), PASSWORD);
    const orphan = (await call(d.url, 'task.create', [gone, 'orphan', ''])) as string;
    await call(d.url, 'session.logout', [gone]);
    await call(d.url, 'task.destroy', [main['read-only'], orphan]);
    // pool-operator and above: any task
    await call(d.url, 'task.set_status', [main['pool-operator'], mine, 'success']);
    await call(d.url, 'task.destroy', [main['pool-operator'], mine]);
    await call(d.url, 'task.destroy', [main['pool-admin'], rootTask]);
    assert.deepEqual(await failure(call(d.url, 'task.get_record', [root, mine])), ['HANDLE_INVALID', 'task', mine]);
  });

  it('sessions: other_config is written by the session or its subject; another\'s needs pool-admin', async () => {
    const target = main['read-only'];
    for (const [method, rest] of [['session.add_to_other_config', ['k', 'v']], ['session.set_other_config', [{ k: 'v' }]], ['session.remove_from_other_config', ['k']]] as const) {
      for (const w of ['vm-operator', 'vm-admin', 'vm-power-admin', 'pool-operator'] as const) {
        assert.deepEqual(await failure(call(d.url, method, [main[w], target, ...rest])), deniedFor(`${method}/any`, ['pool-admin']), `${method} as ${w}`);
      }
      assert.deepEqual(await failure(call(d.url, method, [ro2, target, ...rest])), deniedFor(`${method}/any`, ['pool-admin']), `${method} as another read-only user`);
    }
    assert.deepEqual(await call(d.url, 'session.get_other_config', [root, target]), {});
    await call(d.url, 'session.add_to_other_config', [target, target, 'own', '1']);
    await call(d.url, 'session.add_to_other_config', [second['read-only'], target, 'same-subject', '1']);
    await call(d.url, 'session.add_to_other_config', [main['pool-admin'], target, 'admin', '1']);
    assert.deepEqual(await call(d.url, 'session.get_other_config', [root, target]), { own: '1', 'same-subject': '1', admin: '1' });
  });
});
