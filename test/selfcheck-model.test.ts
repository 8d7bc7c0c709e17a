// Self-checks of the datamodel against the code that serves it (issue 10, item 7):
//  - every message has an implementation, is generic, or is declared `unimplemented` on purpose,
//    and then listed in the README under "Messages not implemented yet";
//  - every xe field name (src/cli/xe/fields.ts, records.ts, the model's list columns) resolves to
//    a model field, and every message xe calls for a field exists;
//  - every custom message has its doc text.
// Each check is a pure function returning the problems it finds: it runs on the real model (no
// problem) and on a model broken on purpose (the problem is found), so that none can pass vacuously.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { eventImpls } from '../src/api/events.ts';
import type { ImplTable } from '../src/api/context.ts';
import { sessionImpls } from '../src/api/sessions.ts';
import { taskImpls } from '../src/api/tasks.ts';
import { CLASS_CLI, COMMA_JOINED, VALUES_AS_SET, cliName, type ClassCli } from '../src/cli/xe/fields.ts';
import { cliFields } from '../src/cli/xe/records.ts';
import { CLASSES, m, t, type ClassDef, type MessageDef } from '../src/model/index.ts';
import { opsImpls } from '../src/ops/index.ts';
import { call, failure, login, startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { placeholderArgs } from './helpers/placeholders.ts';

type Classes = ReadonlyMap<string, ClassDef>;

function* messagesOf(classes: Classes): Generator<{ wire: string; cls: ClassDef; msg: MessageDef }> {
  for (const cls of classes.values()) for (const msg of cls.allMessages.values()) yield { wire: `${cls.name}.${msg.name}`, cls, msg };
}

/** Messages that are neither generic, implemented, nor declared unimplemented; and declared ones that are implemented after all. */
function implementationProblems(classes: Classes, impls: ImplTable): string[] {
  const out: string[] = [];
  for (const { wire, msg } of messagesOf(classes)) {
    const has = Object.hasOwn(impls, wire);
    if (msg.unimplemented && has) out.push(`${wire} is declared unimplemented but has an implementation`);
    else if (msg.unimplemented && msg.generic) out.push(`${wire} is generic: it cannot be unimplemented`);
    else if (!msg.unimplemented && !msg.generic && !has) out.push(`${wire} has no implementation (declare it unimplemented, and list it in the README)`);
  }
  // an implementation keyed by a name the model does not have is never called
  for (const wire of Object.keys(impls)) {
    const dot = wire.indexOf('.');
    if (!classes.get(wire.slice(0, dot))?.allMessages.has(wire.slice(dot + 1))) out.push(`implementation ${wire} names no model message`);
  }
  return out;
}

/** The messages listed under the README's "Messages not implemented yet": the backticked name opening each list item. */
function readmeUnimplemented(readme: string): string[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Messages not implemented yet\n'));
  if (!section) return [];
  return [...section.matchAll(/^- `([A-Za-z_]+\.[A-Za-z0-9_]+)`/gm)].map((x) => x[1]);
}

function readmeProblems(classes: Classes, listed: readonly string[]): string[] {
  const declared = [...messagesOf(classes)].filter((x) => x.msg.unimplemented).map((x) => x.wire);
  return [
    ...declared.filter((w) => !listed.includes(w)).map((w) => `${w} is declared unimplemented but not listed in the README`),
    ...listed.filter((w) => !declared.includes(w)).map((w) => `the README lists ${w}, which the model does not declare unimplemented`),
    ...listed.filter((w, i) => listed.indexOf(w) !== i).map((w) => `the README lists ${w} twice`),
  ];
}

/** Every custom message (and every class) says what it does. */
function docProblems(classes: Classes): string[] {
  const out: string[] = [];
  for (const cls of classes.values()) if (!cls.doc?.trim()) out.push(`class ${cls.name} has no doc`);
  for (const { wire, msg } of messagesOf(classes)) if (!msg.generic && !msg.doc?.trim()) out.push(`${wire} has no doc`);
  return out;
}

/** Every name fields.ts (and the model's xe list columns) gives resolves to a model field, a computed field or a message. */
function xeProblems(classes: Classes, cli: Readonly<Record<string, ClassCli>>): string[] {
  const out: string[] = [];
  const wireFields = new Set<string>();
  for (const cls of classes.values()) for (const fd of cls.publicFields) wireFields.add(fd.name);
  for (const cls of classes.values()) {
    // the model's own xe names: one field each
    const xeNames = new Map<string, string>();
    for (const fd of cls.publicFields) {
      const name = cliName(fd);
      if (name === undefined) continue;
      if (xeNames.has(name)) out.push(`${cls.name}: xe name ${name} is both ${xeNames.get(name)} and ${fd.name}`);
      xeNames.set(name, fd.name);
    }
    const meta = cli[cls.name];
    for (const name of Object.keys(meta?.extras ?? {})) if (xeNames.has(name)) out.push(`${cls.name}: computed xe field ${name} hides the model field ${xeNames.get(name)}`);
    const resolves = (name: string) => xeNames.has(name) || Object.hasOwn(meta?.extras ?? {}, name);
    for (const col of cls.cliListColumns ?? []) if (!resolves(col)) out.push(`${cls.name}: list column ${col} is no xe field`);
    if (!meta) continue;
    const field = (where: string, name: string) => { if (!cls.fieldMap.get(name) || cls.fieldMap.get(name)!.internal) out.push(`${cls.name}.${where}: ${name} is no public field`); };
    const message = (where: string, name: string) => { if (!cls.allMessages.has(name)) out.push(`${cls.name}.${where}: ${name} is no message`); };
    for (const name of meta.order ?? []) if (!resolves(name)) out.push(`${cls.name}.order: ${name} is no xe field`);
    for (const [name, x] of Object.entries(meta.extras ?? {})) {
      if (x.kind === 'call') { message(`extras.${name}`, x.method); continue; }
      const ref = cls.fieldMap.get(x.ref);
      if (ref?.type.k !== 'ref') { out.push(`${cls.name}.extras.${name}: ${x.ref} is no ref field`); continue; }
      if (x.kind === 'via') {
        if (ref.type.cls !== x.cls) out.push(`${cls.name}.extras.${name}: ${x.ref} points to ${ref.type.cls}, not ${x.cls}`);
        if (!classes.get(x.cls)?.fieldMap.has(x.field)) out.push(`${cls.name}.extras.${name}: ${x.cls} has no field ${x.field}`);
      }
    }
    for (const [where, names] of [['plain', meta.plain], ['readOnly', meta.readOnly], ['caseInsensitive', meta.caseInsensitive], ['lowercase', meta.lowercase]] as const) {
      for (const name of names ?? []) field(where, name);
    }
    for (const [name, msg] of Object.entries(meta.setters ?? {})) { field('setters', name); message('setters', msg); }
    for (const [name, ops] of Object.entries(meta.setOps ?? {})) { field('setOps', name); message('setOps', ops.add); message('setOps', ops.remove); }
    for (const [name, msg] of Object.entries(meta.setInMap ?? {})) { field('setInMap', name); message('setInMap', msg); }
    for (const [name, texts] of Object.entries(meta.enumText ?? {})) {
      field('enumText', name);
      const ty = cls.fieldMap.get(name)?.type;
      const en = ty?.k === 'set' ? ty.of : ty;
      for (const v of Object.keys(texts)) if (en?.k !== 'enum' || !en.values.includes(v)) out.push(`${cls.name}.enumText.${name}: ${v} is no value of the field`);
    }
    for (const [name] of meta.listFilters ?? []) if (!resolves(name)) out.push(`${cls.name}.listFilters: ${name} is no xe field`);
  }
  for (const name of Object.keys(cli)) if (!classes.has(name)) out.push(`fields.ts describes ${name}, which is no model class`);
  for (const name of [...COMMA_JOINED, ...VALUES_AS_SET]) if (!wireFields.has(name)) out.push(`${name} (COMMA_JOINED / VALUES_AS_SET) is no field of any class`);
  return out;
}

/** A copy of the model with one class changed: the broken models of the negative cases. */
function alter(name: string, change: (c: ClassDef) => Partial<ClassDef>): Classes {
  const c = CLASSES.get(name)!;
  return new Map([...CLASSES].map(([k, v]) => [k, k === name ? { ...c, ...change(c) } : v]));
}

function withMessage(cls: string, msg: MessageDef): Classes {
  return alter(cls, (c) => ({ allMessages: new Map([...c.allMessages, [msg.name, msg]]) }));
}

describe('self-checks of the model', () => {
  let d: TestDaemon;
  let impls: ImplTable;
  before(async () => {
    d = await startTestDaemon();
    // the tables serve.ts hands the dispatcher: the API's own, the ops', then the pool membership's
    impls = { ...sessionImpls, ...taskImpls, ...eventImpls(d.api.hub), ...opsImpls, ...d.membership.impls() };
  });
  after(async () => { await d?.dispose(); });

  it('every message is implemented, generic, or declared unimplemented; every implementation names a message', () => {
    assert.deepEqual(implementationProblems(CLASSES, impls), []);
  });

  it('the implementation check fails on a custom message without implementation, a marker on an implemented one, and a stray implementation', () => {
    const orphan = m('frobnicate', [], t.void, 'pool-operator', [], { doc: 'd' });
    assert.deepEqual(implementationProblems(withMessage('network', orphan), impls),
      ['network.frobnicate has no implementation (declare it unimplemented, and list it in the README)']);
    assert.deepEqual(implementationProblems(withMessage('network', { ...orphan, unimplemented: true }), impls), [], 'declared: accepted');
    const plug = CLASSES.get('PIF')!.allMessages.get('plug')!;
    assert.deepEqual(implementationProblems(withMessage('PIF', { ...plug, unimplemented: true }), impls), ['PIF.plug is declared unimplemented but has an implementation']);
    // @ts-expect-error a key the model lacks is a compile error too (ImplTable); the check catches it at run time
    assert.deepEqual(implementationProblems(CLASSES, { ...impls, 'PIF.plugg': () => undefined }), ['implementation PIF.plugg names no model message']);
  });

  it('a message declared unimplemented answers NOT_IMPLEMENTED through the real dispatcher', async () => {
    const s = await login(d.url);
    // none is declared today (issue 11 implemented the last ones); a message added ahead of its code is checked here
    const declared = [...messagesOf(CLASSES)].filter((x) => x.msg.unimplemented);
    for (const { wire, msg } of declared) {
      const args = placeholderArgs(msg.params).map((v, i) => {
        const p = msg.params[i];
        // values that pass the model's syntax checks, so that the call reaches the dispatcher's look-up
        if (p.valueType === 'mtu') return 1500;
        if (p.valueType === 'ipv4') return '';
        if (p.valueType === 'ifName') return 'xapi9';
        return v;
      });
      assert.deepEqual(await failure(call(d.url, wire, [s, ...args])), ['NOT_IMPLEMENTED', wire], wire);
    }
  });

  it('the README lists exactly the messages declared unimplemented', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    assert.match(readme, /^## Messages not implemented yet$/m, 'the README has the section "Messages not implemented yet"');
    const listed = readmeUnimplemented(readme);
    assert.deepEqual(readmeProblems(CLASSES, listed), []);
  });

  it('the README check fails on a missing, an extra and a doubled line', () => {
    const text = '# x\n## Messages not implemented yet\n\n- `network.attach`: a.\n- `network.attach`: b.\n- `PIF.plug`: c.\n## Next\n- `VIF.plug`: d.\n';
    const listed = readmeUnimplemented(text);
    assert.deepEqual(listed, ['network.attach', 'network.attach', 'PIF.plug'], 'only the section, only list items');
    // a model where network.add_purpose is still declared unimplemented (the real one has it implemented)
    const network = CLASSES.get('network')!;
    const allMessages = new Map(network.allMessages);
    allMessages.set('add_purpose', { ...allMessages.get('add_purpose')!, unimplemented: true });
    const problems = readmeProblems(new Map([...CLASSES, ['network', { ...network, allMessages }]]), listed);
    assert.ok(problems.includes('the README lists PIF.plug, which the model does not declare unimplemented'), problems.join('\n'));
    assert.ok(problems.includes('the README lists network.attach twice'));
    assert.ok(problems.includes('network.add_purpose is declared unimplemented but not listed in the README'));
  });

  it('every xe field name resolves to a model field, a computed field or a message', () => {
    assert.deepEqual(xeProblems(CLASSES, CLASS_CLI), []);
    // and records.ts builds every class's xe fields from them without a hole
    for (const cls of CLASSES.values()) {
      if (cls.cliPrefix === undefined) continue;
      for (const fd of cliFields(cls)) assert.ok(fd.field ?? fd.extra, `${cls.name} ${fd.name}`);
    }
  });

  it('the xe check fails on a misspelt order entry, setter, extra, list column and a name clash', () => {
    const pif = CLASS_CLI.PIF;
    const broken = {
      ...CLASS_CLI,
      PIF: {
        ...pif, order: [...pif.order!, 'currently_attached'], setters: { ...pif.setters, disallow_unplug: 'set_disalow_unplug' },
        extras: { ...pif.extras, carrier: { kind: 'via', ref: 'metrics', cls: 'PIF_metrics', field: 'carier' } },
      },
      VLAN: { order: ['uuid', 'tag'], plain: ['tags'] },
      widget: {},
    } satisfies Record<string, ClassCli>;
    assert.deepEqual(xeProblems(CLASSES, broken).sort(), [
      'PIF.extras.carrier: PIF_metrics has no field carier',
      'PIF.order: currently_attached is no xe field',
      'PIF.setters: set_disalow_unplug is no message',
      'VLAN.plain: tags is no public field',
      'fields.ts describes widget, which is no model class',
    ]);
    const clash = alter('VLAN', (c) => ({ publicFields: c.publicFields.map((fd) => (fd.name === 'tag' ? { ...fd, cli: 'untagged-PIF' } : fd)), cliListColumns: ['uuid', 'vlan-tag'] }));
    assert.deepEqual(xeProblems(clash, CLASS_CLI).sort(), [
      'VLAN.order: tag is no xe field',
      'VLAN: list column vlan-tag is no xe field',
      'VLAN: xe name untagged-PIF is both untagged_PIF and tag',
    ]);
  });

  it('every custom message has its doc text', () => {
    assert.deepEqual(docProblems(CLASSES), []);
  });

  it('the doc check fails on a custom message without doc, not on a generic one', () => {
    assert.deepEqual(docProblems(withMessage('Bond', m('undocumented', [], t.void, 'pool-operator'))), ['Bond.undocumented has no doc']);
    assert.deepEqual(docProblems(withMessage('Bond', m('get_x', [], t.void, 'read-only', [], { generic: 'get', field: 'uuid' }))), []);
  });
});
