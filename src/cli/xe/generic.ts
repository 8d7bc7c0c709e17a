// The commands every class with an xe prefix gets, derived from its fields
// (xapi-cli-server/cli_operations.ml make_param_funs): X-list and X-param-list/get/set/add/remove/clear.

import type { ClassDef } from '../../model/index.ts';
import type { CommandContext, CommandSpec } from './command.ts';
import { XeError, apiError, cliError } from './errors.ts';
import { classCli } from './fields.ts';
import { STD_PARAMS, type Param } from './grammar.ts';
import type { Row } from './printer.ts';
import { BoundRecord, EXPENSIVE, cliFields, fetchByUuid, marker, type CliFieldDef } from './records.ts';

type FieldType = { kind: 'normal' } | { kind: 'map'; field: string } | { kind: 'set'; field: string };

/** How a filter or param-set key names a field (cli_operations.ml get_field_type). */
export function fieldTypeOf(key: string, defs: readonly CliFieldDef[]): FieldType {
  if (defs.some((d) => d.name === key)) return { kind: 'normal' };
  const colon = key.indexOf(':');
  if (colon >= 0) {
    const name = key.slice(0, colon);
    const d = defs.find((x) => x.name === name);
    if (!d) throw cliError(`Unknown field '${key}'`);
    if (d.kind === 'set') return { kind: 'set', field: d.name };
    if (d.kind === 'map') return { kind: 'map', field: d.name };
    throw cliError(`Field '${d.name}' is not a set or map`);
  }
  // the legacy form map-key: the longest map (then set) whose name prefixes the key
  const longestFirst = (kind: 'map' | 'set') => defs.filter((d) => d.kind === kind).sort((a, b) => b.name.length - a.name.length);
  for (const kind of ['map', 'set'] as const) {
    const d = longestFirst(kind).find((x) => key.startsWith(`${x.name}-`));
    if (d) return { kind, field: d.name };
  }
  throw cliError(`Unknown field '${key}'`);
}

const lookup = (defs: readonly CliFieldDef[], name: string): CliFieldDef => {
  const d = defs.find((x) => x.name === name);
  // xapi raises CLI_failed_to_find_param, which xe prints as an unknown error code
  if (!d) throw apiError('Missing parameter', [name]);
  return d;
};

async function matches(r: BoundRecord, key: string, value: string, t: FieldType): Promise<boolean> {
  const defs = r.fields;
  if (t.kind === 'normal') {
    const d = lookup(defs, key);
    const v = await r.get(d);
    return d.caseInsensitive ? v.toLowerCase() === value.toLowerCase() : v === value;
  }
  const d = lookup(defs, t.field);
  const sub = key.slice(t.field.length + 1);
  if (t.kind === 'set') {
    if (sub !== 'contains') throw cliError('Invalid syntax for set filtering (should be set-param:contains=key)');
    const members = await r.getSet(d);
    return d.caseInsensitive ? members.some((m) => m.toLowerCase() === value.toLowerCase()) : members.includes(value);
  }
  const entries = await r.getMap(d);
  const hit = d.caseInsensitive ? entries.find(([k]) => k.toLowerCase() === sub.toLowerCase()) : entries.find(([k]) => k === sub);
  return hit !== undefined && (d.caseInsensitive ? hit[1].toLowerCase() === value.toLowerCase() : hit[1] === value);
}

export async function filterRecords(records: BoundRecord[], [key, value]: Param): Promise<BoundRecord[]> {
  // filters are not checked against an empty list (xapi looks at the first record's fields)
  if (records.length === 0) return records;
  const t = fieldTypeOf(key, records[0].fields);
  const keep = await Promise.all(records.map((r) => matches(r, key, value, t)));
  return records.filter((_, i) => keep[i]);
}

export async function rowsOf(r: BoundRecord, defs: readonly CliFieldDef[], expensiveAsPlaceholder: boolean): Promise<Row[]> {
  return Promise.all(defs.map(async (d): Promise<Row> => [d.name + marker(d), expensiveAsPlaceholder && d.expensive ? EXPENSIVE : await r.get(d)]));
}

/** The columns to print: params=all, params=a,b (unknown names skipped), else the class default. */
export function selectColumns(defs: readonly CliFieldDef[], params: string | undefined, defaults: readonly string[]): CliFieldDef[] {
  const wanted = params === undefined ? defaults : params === 'all' ? [] : params.split(',');
  const shown = defs.filter((d) => !d.hidden);
  return wanted.length === 0 ? shown : shown.filter((d) => wanted.includes(d.name));
}

export async function bindAll(ctx: CommandContext, cls: ClassDef): Promise<BoundRecord[]> {
  const all = (await ctx.api.call(`${cls.name}.get_all_records`)) as Record<string, Record<string, unknown>>;
  return Object.entries(all ?? {}).map(([ref, rec]) => new BoundRecord(cls, ref, rec, ctx.api, ctx.res));
}

async function bindOne(ctx: CommandContext, cls: ClassDef): Promise<BoundRecord> {
  const { ref, rec } = await fetchByUuid(ctx.api, cls, ctx.params.req('uuid'));
  return new BoundRecord(cls, ref, rec, ctx.api, ctx.res);
}

async function list(ctx: CommandContext, cls: ClassDef): Promise<void> {
  const all = await bindAll(ctx, cls);
  const filters = [...(classCli(cls.name).listFilters ?? []), ...ctx.params.list.filter(([k]) => k !== 'params' && !STD_PARAMS.has(k) && !k.startsWith('database:'))];
  let records = all;
  for (const f of filters) records = await filterRecords(records, f);
  const shown = ctx.params.bool('all') ? all : records;
  const columns = selectColumns(cliFields(cls), ctx.params.get('params'), cls.cliListColumns ?? []);
  ctx.printer.print({ t: 'table', records: await Promise.all(shown.map((r) => rowsOf(r, columns, true))) });
}

async function paramList(ctx: CommandContext, cls: ClassDef): Promise<void> {
  const r = await bindOne(ctx, cls);
  ctx.printer.print({ t: 'table', records: [await rowsOf(r, r.fields.filter((d) => !d.hidden), false)] });
}

async function paramGet(ctx: CommandContext, cls: ClassDef): Promise<void> {
  const r = await bindOne(ctx, cls);
  const d = lookup(r.fields, ctx.params.req('param-name'));
  const key = ctx.params.get('param-key');
  if (key !== undefined && d.kind === 'map') {
    const hit = (await r.getMap(d)).find(([k]) => k === key);
    if (!hit) throw cliError(`Key ${key} not found in map`);
    ctx.printer.print({ t: 'list', items: [hit[1]] });
    return;
  }
  ctx.printer.print({ t: 'list', items: [await r.get(d)] });
}

async function paramSet(ctx: CommandContext, cls: ClassDef): Promise<void> {
  const r = await bindOne(ctx, cls);
  const defs = r.fields;
  for (const [k, v] of ctx.params.list.filter(([key]) => key !== 'uuid' && !STD_PARAMS.has(key))) {
    const t = fieldTypeOf(k, defs);
    if (t.kind === 'set') throw cliError('Cannot param-set on set fields');
    if (t.kind === 'map') {
      const d = lookup(defs, t.field);
      const key = k.slice(t.field.length + 1);
      if (d.setInMap) { await r.setInMap(d, key, v); continue; }
      if (!d.addToMap || !d.removeFromMap) throw cliError(`Map field '${d.name}' is read-only.`);
      // replace: remove the key when present, then add it
      if ((await r.getMap(d)).some(([x]) => x === key)) await r.removeFromMap(d, key);
      await r.addToMap(d, key, v);
      continue;
    }
    const d = lookup(defs, k);
    if (!d.setter) throw cliError(d.addToMap ? `Field '${k}' is a map or set. use the 'name:key=value' syntax.` : `Field '${k}' is read-only.`);
    await r.set(d, v);
  }
}

async function paramAdd(ctx: CommandContext, cls: ClassDef): Promise<void> {
  const r = await bindOne(ctx, cls);
  const d = lookup(r.fields, ctx.params.req('param-name'));
  if (d.addToSet) {
    const key = ctx.params.get('param-key');
    if (key === undefined) throw cliError('When adding a key to a set, use the syntax: *-param-add param-name=<name> param-key=<key>');
    await r.addToSet(d, key);
    return;
  }
  if (d.addToMap) {
    const skip = new Set(['uuid', 'param-name', 'param-key', ...STD_PARAMS]);
    for (const [k, v] of ctx.params.without(skip)) await r.addToMap(d, k, v);
    return;
  }
  if (d.kind !== 'scalar') throw cliError('Parameter is read-only');
  throw cliError('Can only add to parameters of type Set or Map');
}

async function paramRemove(ctx: CommandContext, cls: ClassDef): Promise<void> {
  const r = await bindOne(ctx, cls);
  const d = lookup(r.fields, ctx.params.req('param-name'));
  const key = ctx.params.req('param-key');
  if (d.kind === 'set' && d.removeFromSet) {
    if (!(await r.getSet(d)).includes(key)) throw cliError(`Key ${key} is not in the set`);
    await r.removeFromSet(d, key);
    return;
  }
  if (d.kind === 'map' && d.removeFromMap) {
    if (!(await r.getMap(d)).some(([k]) => k === key)) throw cliError(`Key ${key} is not in map`);
    await r.removeFromMap(d, key);
    return;
  }
  if (d.kind !== 'scalar') throw cliError('Cannot remove parameters from read-only map');
  throw cliError('Can only remove from parameters of type Set or Map');
}

async function paramClear(ctx: CommandContext, cls: ClassDef): Promise<void> {
  const r = await bindOne(ctx, cls);
  const d = lookup(r.fields, ctx.params.req('param-name'));
  if (d.kind === 'set' && d.removeFromSet) {
    for (const m of await r.getSet(d)) await r.removeFromSet(d, m);
    return;
  }
  if (d.kind === 'map' && d.removeFromMap) {
    for (const [k] of await r.getMap(d)) await r.removeFromMap(d, k);
    return;
  }
  if (d.setter) {
    try { await r.set(d, ''); } catch (e) {
      if (e instanceof XeError) throw cliError('Cannot clear this parameter');
      throw e;
    }
    return;
  }
  throw cliError('Can only clear RW parameters');
}

/** The generated commands of one class; param-set/add/remove/clear only where something is writable. */
export function genericCommands(cls: ClassDef): CommandSpec[] {
  const prefix = cls.cliPrefix!;
  const defs = cliFields(cls).filter((d) => !d.hidden);
  const names = defs.map((d) => d.name);
  const settable = [
    ...defs.filter((d) => d.setter).map((d) => d.name),
    ...defs.filter((d) => d.addToMap || d.setInMap).map((d) => `${d.name}:`),
  ];
  const addable = defs.filter((d) => d.addToSet || d.addToMap).map((d) => d.name);
  const clearable = defs.filter((d) => d.setter || d.kind !== 'scalar').map((d) => d.name);
  const plural = `${prefix}s`;
  const c = cls.name;
  const cmds: CommandSpec[] = [];
  if (settable.length > 0) {
    cmds.push({
      name: `${prefix}-param-set`, reqd: ['uuid'], optn: settable, cls: c,
      help: "Sets the parameter specified. If param-value is not given, the parameter is set to a null value. To set a (key,value) pair in a map parameter, use the syntax 'map-param:key=value'.",
      run: (ctx) => paramSet(ctx, cls),
    });
  }
  cmds.push(
    {
      name: `${prefix}-list`, reqd: [], optn: ['params', 'database:', ...names, ...defs.filter((d) => d.kind === 'set').map((d) => `${d.name}:contains`)], cls: c,
      help: `Lists all the ${plural}, filtering on the optional arguments. To filter on map parameters, use the syntax 'map-param:key=value'`,
      flags: { standard: prefix === 'vm' || prefix === 'network' },
      run: (ctx) => list(ctx, cls),
    },
    { name: `${prefix}-param-list`, reqd: ['uuid'], optn: ['database:'], cls: c, help: 'Lists all the parameters of the object specified by the uuid.', run: (ctx) => paramList(ctx, cls) },
    {
      name: `${prefix}-param-get`, reqd: ['uuid', 'param-name'], optn: ['param-key', 'database:'], cls: c,
      help: "Gets the parameter specified of the object. If the parameter is a map of key=value pairs, use 'param-key=<key>' to get the value associated with a particular key.",
      run: (ctx) => paramGet(ctx, cls),
    },
  );
  if (addable.length > 0) {
    cmds.push(
      {
        name: `${prefix}-param-add`, reqd: ['uuid', 'param-name'], optn: ['param-key'], cls: c,
        help: "Adds to a set or map parameter. If the parameter is a set, use param-key=<key to add>. If the parameter is a map, pass the values to add as 'key=value' pairs.",
        run: (ctx) => paramAdd(ctx, cls),
      },
      { name: `${prefix}-param-remove`, reqd: ['uuid', 'param-name', 'param-key'], optn: [], cls: c, help: 'Removes a member or a key,value pair from a set/map respectively.', run: (ctx) => paramRemove(ctx, cls) },
    );
  }
  if (clearable.length > 0) {
    cmds.push({
      name: `${prefix}-param-clear`, reqd: ['uuid', 'param-name'], optn: [], cls: c,
      help: `Clears the specified parameter (param-name can be ${clearable.join(',')}).`,
      run: (ctx) => paramClear(ctx, cls),
    });
  }
  return cmds;
}

/** xe names of a class's fields (completion of param-name= and params=). */
export function fieldNames(cls: ClassDef): string[] {
  return cliFields(cls).filter((d) => !d.hidden).map((d) => d.name);
}

