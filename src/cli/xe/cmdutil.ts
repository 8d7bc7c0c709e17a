// What the hand-written xe commands share: uuid lookups, model enums, integer parameters.

import { classDef, type FieldType } from '../../model/index.ts';
import type { Api } from './client.ts';
import type { CommandContext, CommandSpec } from './command.ts';
import { cliError } from './errors.ts';
import { parseEnum } from './records.ts';

/** The restart delay xapi announces (Constants.fuse_time, printed with %.3f). */
export const FUSE_TIME = '10.000';

export const byUuid = async (api: Api, cls: string, uuid: string): Promise<string> => String(await api.call(`${cls}.get_by_uuid`, uuid));
export const uuidOf = async (api: Api, cls: string, ref: unknown): Promise<string> => String(await api.call(`${cls}.get_uuid`, ref));
export const printUuid = (ctx: CommandContext, uuid: string): void => ctx.printer.print({ t: 'list', items: [uuid] });

/** The enum values of a message parameter, from the model. */
export function enumOf(cls: string, message: string, param: string): readonly string[] {
  const t: FieldType | undefined = classDef(cls).allMessages.get(message)?.params.find((p) => p.name === param)?.type;
  return t?.k === 'enum' ? t.values : [];
}

export const parseParamEnum = (cls: string, message: string, param: string, text: string): string => parseEnum(enumOf(cls, message, param), text);

export const intParam = (ctx: CommandContext, key: string, message: string): number => {
  const v = ctx.params.req(key);
  if (!/^-?\d+$/.test(v.trim())) throw cliError(message);
  return Number(v.trim());
};

export function bondMode(text: string): string {
  // "" means the default (record_util.ml bond_mode_of_string)
  const t = text.toLowerCase();
  if (t === '') return 'balance-slb';
  if (enumOf('Bond', 'create', 'mode').includes(t)) return t;
  throw cliError(`Invalid bond mode. Got ${t}`);
}

export const NO_FORCE = 'This operation is dangerous and may cause data loss. This operation must be forced (use --force).';
export const BOOL = ['true', 'false'];

/** Simple "resolve uuid, call one method" commands. */
export const onUuid = (name: string, cls: string, method: string, help: string, extra: Partial<CommandSpec> = {}): CommandSpec => ({
  name, reqd: ['uuid'], optn: [], help, cls, ...extra,
  run: async (ctx) => { await ctx.api.call(`${cls}.${method}`, await byUuid(ctx.api, cls, ctx.params.req('uuid'))); },
});
