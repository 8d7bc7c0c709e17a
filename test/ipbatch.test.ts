// Several `ip -json` reads in one `ip -batch` process (src/agent/ipbatch.ts): the splitter takes
// nothing but one JSON array of objects per command asked, and the reads give what the same reads
// made apart give, in a namespace of the test's own; a read the batch does not answer is made apart.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { answerOrNone, answerOrThrow, ipReads, MAX_READS, parseBatchJson, parseOneJson } from '../src/agent/ipbatch.ts';
import { nsSkipReason, plainNs } from './helpers/netns.ts';

describe('parseBatchJson (pure)', () => {
  it('several answers: one array per command, in order', () => {
    assert.deepEqual(parseBatchJson('[{"ifname":"lo"}]\n[{"dst":"default"}]\n[{"nsid":0,"name":"x"}]\n', 3), [[{ ifname: 'lo' }], [{ dst: 'default' }], [{ nsid: 0, name: 'x' }]]);
    // blank lines are not answers; an empty list is one
    assert.deepEqual(parseBatchJson('\n[]\n\n[{"a":1}]\n', 2), [[], [{ a: 1 }]]);
  });

  it('an empty answer: a command that printed nothing leaves one answer missing', () => {
    assert.equal(parseBatchJson('', 1), undefined);
    assert.equal(parseBatchJson('\n \n', 1), undefined);
    assert.equal(parseBatchJson('[{"ifname":"lo"}]\n', 2), undefined);
  });

  it('a truncated answer: output cut short (a killed process, a full buffer) is no answer', () => {
    const full = '[{"ifname":"lo","mtu":65536}]\n[{"dst":"default","gateway":"192.0.2.1"}]\n';
    for (let cut = 0; cut < full.length - 1; cut++) assert.equal(parseBatchJson(full.slice(0, cut), 2), undefined, `cut at ${cut}`);
    assert.equal(parseBatchJson('[]\n[{"a"\n', 2), undefined);
  });

  it('garbage: not JSON, not an array of objects, more answers than asked, nonsense counts', () => {
    for (const out of ['Object "bogus" is unknown, try "ip help".\n[]\n', '{"a":1}\n[]\n', '[1,2]\n[]\n', '[null]\n[]\n', '[[{}]]\n[]\n', '"[]"\n[]\n', 'null\n[]\n', '[]\n[]\n[]\n', '\u0000\n[]\n'])
      assert.equal(parseBatchJson(out, 2), undefined, JSON.stringify(out));
    for (const n of [0, -1, 1.5, Number.NaN, MAX_READS + 1]) assert.equal(parseBatchJson('[]\n', n), undefined, String(n));
    assert.equal(parseBatchJson(undefined as unknown as string, 1), undefined);
    // deep nesting is refused without a crash
    assert.equal(parseBatchJson('['.repeat(100_000) + ']'.repeat(100_000) + '\n', 1), undefined);
  });

  it('a read made apart: nothing printed is an empty list; anything but an array of objects is an Error', () => {
    assert.deepEqual(parseOneJson('[{"a":1}]\n'), [{ a: 1 }]);
    assert.deepEqual(parseOneJson(''), []);
    assert.ok(parseOneJson('[{"a"') instanceof Error);
    assert.ok(parseOneJson('[1]') instanceof Error);
    assert.ok(parseOneJson('{}') instanceof Error);
    assert.deepEqual(answerOrNone(new Error('x')), []);
    assert.throws(() => answerOrThrow(new Error('no ip')), /no ip/);
  });
});

describe('ipReads in a namespace of the test\'s own', () => {
  const n = plainNs('pnipb');
  const skip = nsSkipReason();
  before(() => { if (!skip) { n.add(); n.addHostNic(); } });
  after(() => { if (!skip) n.del(); });
  const apart = (...args: string[]): unknown => JSON.parse(execFileSync('ip', ['-n', n.ns, '-json', ...args], { encoding: 'utf8' }));

  it('one process: what the reads made apart give', { skip }, async () => {
    const [links, routes, ids] = (await ipReads([['addr', 'show'], ['route', 'show', 'default'], ['netns', 'list-id']], { netns: n.ns })).map(answerOrThrow);
    assert.deepEqual(links, apart('addr', 'show'));
    assert.deepEqual((links as { ifname: string }[]).map((l) => l.ifname).sort(), ['eth5', 'eth6', 'lo']);
    assert.deepEqual((routes as { gateway: string; dev: string }[]).map((r) => [r.gateway, r.dev]), [['192.0.2.1', 'eth5']]);
    assert.deepEqual(ids, apart('netns', 'list-id'));
    const [vlans] = await ipReads([['link', 'show', 'type', 'veth']], { netns: n.ns, details: true });
    assert.deepEqual((answerOrThrow(vlans) as { linkinfo?: { info_kind?: string } }[]).map((l) => l.linkinfo?.info_kind), ['veth', 'veth']);
  });

  it('a line iproute2 refuses: each read made apart, the refused one an Error, the others answered', { skip }, async () => {
    const [links, missing] = await ipReads([['link', 'show'], ['link', 'show', 'dev', 'nosuch0']], { netns: n.ns });
    assert.deepEqual(links, apart('link', 'show'));
    assert.ok(missing instanceof Error && /nosuch0/.test(missing.message), String(missing));
  });

  it('a namespace that is not there, or a name unfit for `ip -n`, or a word unfit for a batch line: Errors, never a throw', { skip }, async () => {
    for (const a of await ipReads([['link', 'show']], { netns: `${n.ns}-gone` })) assert.ok(a instanceof Error);
    for (const netns of ['../x', '-force', 'a b', '']) for (const a of await ipReads([['link', 'show']], { netns })) assert.ok(a instanceof Error, netns);
    const [ok, bad] = await ipReads([['link', 'show'], ['link', 'show\nnetns add evil']], { netns: n.ns });
    assert.deepEqual(ok, apart('link', 'show'));
    assert.ok(bad instanceof Error);
    assert.deepEqual(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('evil')), []);
  });
});
