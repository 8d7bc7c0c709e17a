// xe records: each class's xe fields (derived from the model plus fields.ts), their values as
// xe prints them, and the API calls behind param-set/add/remove/clear.

import { CLASSES, NULL_REF, type ClassDef, type FieldDef, type FieldType } from '../../model/index.ts';
import type { Api } from './client.ts';
import { XeError, cliError } from './errors.ts';
import { COMMA_JOINED, VALUES_AS_SET, classCli, cliName, type ExtraField } from './fields.ts';

export const NOT_IN_DATABASE = '<not in database>';
export const EXPENSIVE = '<expensive field>';

/** What one xe field is and which operations it has (xapi's records.ml make_field). */
export interface CliFieldDef {
  readonly name: string;
  /** 'set' and 'map' fields can be filtered with set:contains= / map:key= and have param-add/remove. */
  readonly kind: 'scalar' | 'set' | 'map';
  readonly field?: FieldDef;
  readonly extra?: ExtraField;
  readonly expensive: boolean;
  readonly hidden: boolean;
  readonly caseInsensitive: boolean;
  /** API messages (without the class prefix) behind each operation. */
  readonly setter?: string;
  readonly addToSet?: string;
  readonly removeFromSet?: string;
  readonly addToMap?: string;
  readonly removeFromMap?: string;
  readonly setInMap?: string;
}

/** The label marker: ( RO)/( RW) scalars, (SRO)/(SRW) sets, (MRO)/(MRW) maps. */
export function marker(d: CliFieldDef): string {
  if (d.kind === 'set') return d.addToSet ? ' (SRW)' : ' (SRO)';
  if (d.kind === 'map') return d.addToMap ? ' (MRW)' : ' (MRO)';
  return d.setter ? ' ( RW)' : ' ( RO)';
}

const schemaCache = new Map<string, readonly CliFieldDef[]>();

/** The xe fields of a class, in xe's record order. */
export function cliFields(cls: ClassDef): readonly CliFieldDef[] {
  const hit = schemaCache.get(cls.name);
  if (hit) return hit;
  const meta = classCli(cls.name);
  const defs: CliFieldDef[] = [];
  for (const fd of cls.publicFields) {
    const name = cliName(fd);
    if (name === undefined) continue;
    const plain = meta.plain?.includes(fd.name) ?? false;
    const k = fd.type.k;
    const kind = plain ? 'scalar' : k === 'set' || (k === 'map' && VALUES_AS_SET.has(fd.name)) ? 'set' : k === 'map' ? 'map' : 'scalar';
    const writable = fd.qual === 'RW' && !(meta.readOnly?.includes(fd.name) ?? false);
    const ops = meta.setOps?.[fd.name];
    defs.push({
      name, kind, field: fd, expensive: false, hidden: false,
      caseInsensitive: meta.caseInsensitive?.includes(fd.name) ?? false,
      setter: meta.setters?.[fd.name] ?? (writable && k !== 'set' && k !== 'map' ? `set_${fd.name}` : undefined),
      addToSet: ops?.add ?? (writable && k === 'set' && !fd.reverseOf ? `add_${fd.name}` : undefined),
      removeFromSet: ops?.remove ?? (writable && k === 'set' && !fd.reverseOf ? `remove_${fd.name}` : undefined),
      addToMap: writable && k === 'map' ? `add_to_${fd.name}` : undefined,
      removeFromMap: writable && k === 'map' ? `remove_from_${fd.name}` : undefined,
      setInMap: meta.setInMap?.[fd.name],
    });
  }
  for (const [name, extra] of Object.entries(meta.extras ?? {})) {
    defs.push({ name, kind: 'scalar', extra, expensive: extra.kind !== 'name-of' && extra.expensive === true, hidden: false, caseInsensitive: false });
  }
  const order = meta.order ?? [];
  const rank = (d: CliFieldDef) => { const i = order.indexOf(d.name); return i < 0 ? order.length : i; };
  // a stable sort keeps model order among the fields fields.ts does not place
  const sorted = defs.map((d, i) => ({ d, i })).sort((a, b) => rank(a.d) - rank(b.d) || a.i - b.i).map((x) => x.d);
  schemaCache.set(cls.name, sorted);
  return sorted;
}

/** Classes with xe commands, by their xe prefix (network, pif, network-sriov ...). */
export function cliClasses(): ClassDef[] {
  return [...CLASSES.values()].filter((c) => c.cliPrefix !== undefined);
}

/** Records of other classes, fetched once per invocation, to print refs as uuids and names. */
export class Resolver {
  private readonly cache = new Map<string, Promise<ReadonlyMap<string, Record<string, unknown>>>>();
  constructor(private readonly api: Api) {}

  records(cls: string): Promise<ReadonlyMap<string, Record<string, unknown>>> {
    let p = this.cache.get(cls);
    if (!p) {
      const c = CLASSES.get(cls);
      p = c && c.getAll
        ? this.api.call(`${cls}.get_all_records`).then((r) => new Map(Object.entries((r ?? {}) as Record<string, Record<string, unknown>>)), () => new Map())
        : Promise.resolve(new Map());
      this.cache.set(cls, p);
    }
    return p;
  }

  async lookup(cls: string, ref: unknown): Promise<Record<string, unknown> | undefined> {
    if (typeof ref !== 'string' || ref === NULL_REF) return undefined;
    return (await this.records(cls)).get(ref);
  }

  async uuidOf(cls: string, ref: unknown): Promise<string> {
    const r = await this.lookup(cls, ref);
    return typeof r?.uuid === 'string' ? r.uuid : NOT_IN_DATABASE;
  }

  /** A ref of any class as "uuid (name-label)", for error messages (xapi's ref_convert). */
  async describeRef(ref: string, hint?: string): Promise<string> {
    const order = [...cliClasses().map((c) => c.name)];
    const h = hint && order.find((c) => c.toLowerCase() === hint.toLowerCase());
    if (h) order.unshift(h);
    for (const cls of order) {
      const r = await this.lookup(cls, ref);
      if (r && typeof r.uuid === 'string') return typeof r.name_label === 'string' ? `${r.uuid} (${r.name_label})` : r.uuid;
    }
    return ref;
  }
}

/** A value of a model type as xe prints it. */
export async function renderValue(type: FieldType, v: unknown, res: Resolver, opts: { comma?: boolean; lowercase?: boolean; enumText?: Readonly<Record<string, string>> } = {}): Promise<string> {
  switch (type.k) {
    case 'string': return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
    case 'int': return v === undefined || v === null ? '' : String(v);
    case 'float': return typeof v === 'number' ? v.toFixed(3) : String(v ?? '');
    case 'bool': return v === true || v === 'true' ? 'true' : 'false';
    case 'datetime': return String(v ?? '');
    case 'enum': {
      const s = opts.enumText?.[String(v)] ?? String(v ?? '');
      return opts.lowercase ? s.toLowerCase() : s;
    }
    case 'ref': return res.uuidOf(type.cls, v);
    case 'set': {
      const items = Array.isArray(v) ? await Promise.all(v.map((x) => renderValue(type.of, x, res, opts))) : [];
      return items.join(opts.comma ? ', ' : '; ');
    }
    case 'map': {
      const entries = Object.entries((v ?? {}) as Record<string, unknown>);
      const parts = await Promise.all(entries.map(async ([k, x]) => `${k}: ${await renderValue(type.value, x, res, opts)}`));
      return parts.join('; ');
    }
    default: return typeof v === 'string' ? v : JSON.stringify(v);
  }
}

/** One object bound to its xe fields: values to print and the calls that change it. */
export class BoundRecord {
  constructor(
    readonly cls: ClassDef,
    readonly ref: string,
    readonly rec: Record<string, unknown>,
    private readonly api: Api,
    private readonly res: Resolver,
  ) {}

  get fields(): readonly CliFieldDef[] { return cliFields(this.cls); }

  private renderOpts(fd: FieldDef) {
    const meta = classCli(this.cls.name);
    return { comma: COMMA_JOINED.has(fd.name), lowercase: meta.lowercase?.includes(fd.name), enumText: meta.enumText?.[fd.name] };
  }

  /** The printed value. */
  async get(d: CliFieldDef): Promise<string> {
    if (d.extra) return this.extraValue(d.extra);
    const fd = d.field!;
    const v = this.rec[fd.name];
    if (VALUES_AS_SET.has(fd.name) && fd.type.k === 'map') return (await this.getSet(d)).join('; ');
    return renderValue(fd.type, v, this.res, this.renderOpts(fd));
  }

  /** Members of a set field, each as printed. */
  async getSet(d: CliFieldDef): Promise<string[]> {
    const fd = d.field!;
    const v = this.rec[fd.name];
    if (fd.type.k === 'map') {
      const vt = fd.type.value;
      return Promise.all(Object.values((v ?? {}) as Record<string, unknown>).map((x) => renderValue(vt, x, this.res, this.renderOpts(fd))));
    }
    if (fd.type.k !== 'set' || !Array.isArray(v)) return [];
    const of = fd.type.of;
    return Promise.all(v.map((x) => renderValue(of, x, this.res, this.renderOpts(fd))));
  }

  /** Entries of a map field, values as printed. */
  async getMap(d: CliFieldDef): Promise<[string, string][]> {
    const fd = d.field!;
    if (fd.type.k !== 'map') return [];
    const vt = fd.type.value;
    const entries = Object.entries((this.rec[fd.name] ?? {}) as Record<string, unknown>);
    return Promise.all(entries.map(async ([k, x]): Promise<[string, string]> => [k, await renderValue(vt, x, this.res, this.renderOpts(fd))]));
  }

  private async extraValue(x: ExtraField): Promise<string> {
    switch (x.kind) {
      case 'name-of': {
        const fd = this.cls.fieldMap.get(x.ref);
        if (!fd || fd.type.k !== 'ref') return NOT_IN_DATABASE;
        const r = await this.res.lookup(fd.type.cls, this.rec[x.ref]);
        return typeof r?.name_label === 'string' ? r.name_label : NOT_IN_DATABASE;
      }
      case 'via': {
        const r = await this.res.lookup(x.cls, this.rec[x.ref]);
        if (!r) return x.expensive ? '<unknown>' : NOT_IN_DATABASE;
        const v = r[x.field];
        switch (x.format) {
          case 'speed': return `${String(v)} Mbit/s`;
          case 'duplex': return v === true ? 'full' : r.carrier === true ? 'half' : 'unknown';
          case 'float': return typeof v === 'number' ? v.toFixed(3) : '<unknown>';
          default: return typeof v === 'boolean' ? String(v) : String(v ?? '');
        }
      }
      case 'call':
        try { return String(await this.api.call(`${this.cls.name}.${x.method}`, this.ref)); } catch { return '<unknown>'; }
    }
  }

  /** Call a message of this class on this object, converting text arguments to its parameter types. */
  private async invoke(message: string, texts: readonly string[], errName: string): Promise<void> {
    const msg = this.cls.allMessages.get(message);
    if (!msg) throw cliError(`Records broken (no ${this.cls.name}.${message})`);
    const args = await Promise.all(texts.map((t, i) => parseValue(msg.params[i + 1]?.type ?? { k: 'string' }, t, errName, this.api)));
    await this.api.call(`${this.cls.name}.${message}`, this.ref, ...args);
  }

  set(d: CliFieldDef, value: string): Promise<void> { return this.invoke(d.setter!, [value], d.name); }
  addToSet(d: CliFieldDef, member: string): Promise<void> { return this.invoke(d.addToSet!, [member], 'value'); }
  removeFromSet(d: CliFieldDef, member: string): Promise<void> { return this.invoke(d.removeFromSet!, [member], 'value'); }
  addToMap(d: CliFieldDef, key: string, value: string): Promise<void> { return this.invoke(d.addToMap!, [key, value], d.name); }
  removeFromMap(d: CliFieldDef, key: string): Promise<void> { return this.invoke(d.removeFromMap!, [key], d.name); }
  setInMap(d: CliFieldDef, key: string, value: string): Promise<void> { return this.invoke(d.setInMap!, [key, value], d.name); }
}

/** xe's enum parsing: case-insensitive; the error lists the choices (generated record_util). */
export function parseEnum(values: readonly string[], text: string): string {
  const hit = values.find((v) => v.toLowerCase() === text.toLowerCase());
  if (hit === undefined) throw cliError(`Expected one of ${values.map((v) => `'${v}'`).join(', ')}, got ${text.toLowerCase()}`);
  return hit;
}

/**
 * Text from the command line as a value of a model type. `name` is the xe name used in
 * error messages. Refs are given as uuids and looked up with get_by_uuid.
 */
export async function parseValue(type: FieldType, text: string, name: string, api: Api): Promise<unknown> {
  switch (type.k) {
    case 'int':
      if (!/^-?\d+$/.test(text.trim())) throw cliError(name === 'value' ? `Failed to parse parameter 'value': expecting an integer` : `Parameter ${name} must be an integer`);
      return Number(text.trim());
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw cliError(`Parameter ${name} must be a floating-point number`);
      return n;
    }
    case 'bool':
      if (text !== 'true' && text !== 'false') throw cliError(`Parameter ${name} must be a boolean (true or false)`);
      return text === 'true';
    case 'enum': return parseEnum(type.values, text);
    case 'ref': return api.call(`${type.cls}.get_by_uuid`, text);
    case 'set': {
      // a set given as one value is a comma-separated list; "" is the empty set
      const words = text === '' ? [] : text.split(',');
      return Promise.all(words.map((w) => parseValue(type.of, w, 'value', api)));
    }
    default: return text;
  }
}

/** get_by_uuid then get_record: the object an xe `uuid=` names (UUID_INVALID when none). */
export async function fetchByUuid(api: Api, cls: ClassDef, uuid: string): Promise<{ ref: string; rec: Record<string, unknown> }> {
  const ref = await api.call(`${cls.name}.get_by_uuid`, uuid);
  if (typeof ref !== 'string') throw new XeError({ kind: 'plain', message: `Error: unexpected answer to ${cls.name}.get_by_uuid` });
  const rec = (await api.call(`${cls.name}.get_record`, ref)) as Record<string, unknown>;
  return { ref, rec };
}

