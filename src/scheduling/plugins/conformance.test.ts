/**
 * The shared conformance suite: every registered plugin, by kind, against the same candidate sets
 * (mixed load, never scraped, stale, one candidate, 64 candidates). A new plugin type is covered by
 * registering it.
 */
import { describe, expect, it } from 'vitest';
import { context, host, request, state, text } from '../../../test/scheduling/helpers.js';
import type { EndpointState } from '../../datastore/endpoint-state.js';
import { SeededRng } from '../../util/rng.js';
import type { Filter, Picker, Plugin, Scorer } from '../framework/types.js';
import { PLUGIN_FACTORIES } from '../plugin-catalog.js';

type SetName = 'mixed' | 'never scraped' | 'stale' | 'one candidate' | '64 candidates';

function candidateSets(): Record<SetName, EndpointState[]> {
  const now = performance.now();
  const mixed = [
    state(1, { m: { waiting: 0, running: 3, kvUsage: 0.1 }, inflight: 1 }, now),
    state(2, { m: { waiting: 4, running: 9, kvUsage: 0.7 }, inflight: 5 }, now),
    state(3, { m: { waiting: 1, running: 5, kvUsage: 0.4, activeLoras: ['a'], maxLoras: 2 } }, now),
    state(
      4,
      { m: { waiting: 9, running: 12, kvUsage: 0.95, numBlocks: 1000, blockSize: 16 }, inflight: 2 },
      now,
    ),
  ];
  const many: EndpointState[] = [];
  for (let i = 0; i < 64; i++) {
    many.push(
      state(i + 10, { m: { waiting: i % 7, running: i % 11, kvUsage: (i % 10) / 10 }, inflight: i % 3 }, now),
    );
  }
  return {
    mixed,
    'never scraped': [state(1), state(2, { inflight: 3 }), state(3)],
    stale: [state(1, { m: { waiting: 2 }, ageMs: 10_000 }), state(2, { m: { kvUsage: 0.5 }, ageMs: 5_000 })],
    'one candidate': [state(1, { m: { waiting: 1 } })],
    '64 candidates': many,
  };
}

function build(type: string): Plugin {
  const factory = PLUGIN_FACTORIES.get(type)!;
  const plugin = factory(type, {});
  plugin.attach?.(host());
  return plugin;
}

const byKind = (kind: Plugin['kind']) => [...PLUGIN_FACTORIES.keys()].filter((t) => build(t).kind === kind);

const req = () => request({ model: 'm', prompt: text(3000, 7) });

describe('every plugin', () => {
  it.each([...PLUGIN_FACTORIES.keys()])(
    '%s: factory builds with default parameters, named as asked',
    (type) => {
      const p = PLUGIN_FACTORIES.get(type)!('my-name', {});
      expect(p.type).toBe(type);
      expect(p.name).toBe('my-name');
    },
  );

  it.each([...PLUGIN_FACTORIES.keys()])('%s: rejects an unknown parameter, naming it', (type) => {
    expect(() => PLUGIN_FACTORIES.get(type)!('x', { definitelyNotAParameter: 1 })).toThrow(
      /definitelyNotAParameter/,
    );
  });
});

describe.each(byKind('scorer'))('scorer conformance: %s', (type) => {
  for (const [label, set] of Object.entries(candidateSets())) {
    it(`${label}: one score in [0,1] per candidate, nothing written past them`, () => {
      const scorer = build(type) as Scorer;
      const out = new Float64Array(set.length + 4).fill(Number.NaN);
      scorer.score(context(req()), set, out);
      for (let i = 0; i < set.length; i++) {
        expect(Number.isFinite(out[i]), `candidate ${i}`).toBe(true);
        expect(out[i]).toBeGreaterThanOrEqual(0);
        expect(out[i]).toBeLessThanOrEqual(1);
      }
      for (let i = set.length; i < out.length; i++) expect(Number.isNaN(out[i])).toBe(true);
    });
  }

  it('is deterministic: fresh instances on equal inputs give equal scores', () => {
    const a = build(type) as Scorer;
    const b = build(type) as Scorer;
    const sa = new Float64Array(4);
    const sb = new Float64Array(4);
    const r = req();
    a.score(context(r), candidateSets().mixed, sa);
    b.score(context(r), candidateSets().mixed, sb);
    expect([...sa]).toEqual([...sb]);
  });

  it('does not mutate the candidate list', () => {
    const set = candidateSets().mixed;
    const copy = [...set];
    (build(type) as Scorer).score(context(req()), set, new Float64Array(set.length));
    expect(set).toEqual(copy);
  });
});

describe.each(byKind('picker'))('picker conformance: %s', (type) => {
  for (const [label, set] of Object.entries(candidateSets())) {
    it(`${label}: picks distinct existing candidates, at least one, at most maxNumOfEndpoints`, () => {
      for (const k of [1, 3]) {
        const picker = PLUGIN_FACTORIES.get(type)!(type, { maxNumOfEndpoints: k }) as Picker;
        const scores = new Float64Array(set.length).map((_, i) => (i * 7) % 5);
        const picks = picker.pick(context(req()), set, scores, new SeededRng(3));
        expect(picks.length).toBeGreaterThanOrEqual(1);
        expect(picks.length).toBeLessThanOrEqual(Math.min(k, set.length));
        expect(new Set(picks).size).toBe(picks.length);
        for (const i of picks) {
          expect(Number.isInteger(i)).toBe(true);
          expect(i).toBeGreaterThanOrEqual(0);
          expect(i).toBeLessThan(set.length);
        }
      }
    });
  }

  it('is deterministic for a seeded RNG, all-zero scores included', () => {
    const set = candidateSets()['64 candidates'];
    const run = () => {
      const picker = build(type) as Picker;
      const rng = new SeededRng(11);
      const out: number[] = [];
      for (let i = 0; i < 50; i++)
        out.push(...picker.pick(context(req()), set, new Float64Array(set.length), rng));
      return out;
    };
    expect(run()).toEqual(run());
  });
});

describe.each(byKind('filter'))('filter conformance: %s', (type) => {
  for (const [label, set] of Object.entries(candidateSets())) {
    it(`${label}: returns a non-empty subset, in order`, () => {
      const out = (build(type) as Filter).filter(context(req()), set);
      expect(out.length).toBeGreaterThan(0);
      let last = -1;
      for (const ep of out) {
        const i = set.indexOf(ep);
        expect(i).toBeGreaterThan(last);
        last = i;
      }
    });
  }
});
