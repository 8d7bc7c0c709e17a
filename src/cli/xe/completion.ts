// `xe --complete "<line up to the cursor>"`: the tokens that may follow, one per line, for the
// bash script of completion-script.ts. Commands, parameter names, fixed values (modes,
// booleans, enum fields) and the uuids of the objects a parameter names (asked of the server
// with the same connection options as the line itself).

import { CLASSES, type ClassDef } from '../../model/index.ts';
import { findCommand, visibleCommands } from './commands.ts';
import { fieldNames } from './generic.ts';
import type { ClientOptions } from './options.ts';
import { cliClasses, cliFields } from './records.ts';

/** Split a shell line into words; the last one is the word being completed ("" after a space). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let inWord = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined; else cur += ch;
    } else if (ch === '"' || ch === "'") { quote = ch; inWord = true; } else if (/\s/.test(ch)) {
      if (inWord) { words.push(cur); cur = ''; inWord = false; }
    } else { cur += ch; inWord = true; }
  }
  words.push(inWord || quote ? cur : '');
  return words;
}

export interface CompletionEnv {
  /** The connection options and command arguments of the words before the cursor. */
  parse(argv: readonly string[]): { opts: ClientOptions; commandArgs: readonly string[] } | undefined;
  /** The uuids of every object of a class (empty when the server cannot be asked). */
  uuids(cls: string, opts: ClientOptions): Promise<string[]>;
}

const classByPrefix = (prefix: string): ClassDef | undefined => cliClasses().find((c) => c.cliPrefix === prefix);

/** The class whose uuids a `<key>=` takes in this command. */
function uuidClass(key: string, cmdClass: string | undefined): string | undefined {
  if (key === 'uuid') return cmdClass;
  if (key === 'pif-uuids') return 'PIF';
  if (key.endsWith('-uuid')) return classByPrefix(key.slice(0, -'-uuid'.length))?.name;
  return undefined;
}

/** Fixed values of a field of the command's class, when its type has them. */
function fieldValues(cls: string | undefined, key: string): readonly string[] | undefined {
  const c = cls ? CLASSES.get(cls) : undefined;
  const d = c && cliFields(c).find((x) => x.name === key);
  const t = d?.field?.type;
  if (t?.k === 'enum') return t.values;
  if (t?.k === 'bool') return ['true', 'false'];
  return undefined;
}

export async function complete(line: string, env: CompletionEnv): Promise<string[]> {
  const words = shellWords(line);
  const current = words[words.length - 1];
  const before = words.slice(1, -1); // without the program name
  const parsed = env.parse(before);
  if (!parsed) return [];
  const args = parsed.commandArgs;
  const starting = (xs: Iterable<string>) => [...xs].filter((x) => x.startsWith(current));
  if (args.length === 0 || args[0] === 'help') return starting([...visibleCommands(), ...(args.length === 0 ? ['help'] : [])]).map((c) => `${c} `);

  const spec = findCommand(args[0]);
  if (!spec) return [];
  const cls = spec.cls;
  const eq = current.indexOf('=');
  if (eq >= 0) {
    const key = current.slice(0, eq);
    const value = current.slice(eq + 1);
    const fixed = spec.values?.[key] ?? fieldValues(cls, key);
    if (fixed) return fixed.filter((v) => v.toLowerCase().startsWith(value.toLowerCase())).map((v) => `${key}=${v} `);
    if ((key === 'param-name' || key === 'params') && cls) {
      // params= takes a comma list: complete its last element
      const done = key === 'params' ? value.slice(0, value.lastIndexOf(',') + 1) : '';
      const last = value.slice(done.length);
      const names = [...fieldNames(CLASSES.get(cls)!), ...(key === 'params' ? ['all'] : [])];
      return names.filter((n) => n.startsWith(last)).map((n) => `${key}=${done}${n}${key === 'params' ? '' : ' '}`);
    }
    const target = uuidClass(key, cls);
    if (target) {
      const done = key === 'pif-uuids' ? value.slice(0, value.lastIndexOf(',') + 1) : '';
      const last = value.slice(done.length);
      const uuids = await env.uuids(target, parsed.opts);
      return uuids.filter((u) => u.startsWith(last)).map((u) => `${key}=${done}${u}${key === 'pif-uuids' ? '' : ' '}`);
    }
    return [];
  }
  if (current.startsWith('-')) {
    const flags = ['--minimal', ...(spec.optn.includes('force') ? ['--force'] : []), ...(spec.name.endsWith('-list') ? ['--all'] : [])];
    return starting(flags).map((f) => `${f} `);
  }
  const given = new Set(args.slice(1).map((a) => a.split('=')[0]));
  const names = [...spec.reqd, ...spec.optn].filter((n) => n.endsWith(':') || !given.has(n));
  return starting(names).map((n) => (n.endsWith(':') ? n : `${n}=`));
}
