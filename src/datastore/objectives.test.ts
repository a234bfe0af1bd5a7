import { describe, expect, it } from 'vitest';
import { address, pool, request, source } from '../../test/scheduling/helpers.js';
import type { ModelPlan, PoolPlan } from '../config/plan.js';
import { GatewayError } from '../openai/errors.js';
import { SeededRng } from '../util/rng.js';
import { PoolObjectives } from './objectives.js';

const model = (
  modelName: string,
  criticality: ModelPlan['criticality'],
  targets: [string, number][] = [],
): ModelPlan => ({
  name: `im-${modelName}`,
  modelName,
  criticality,
  targetModels: targets.map(([name, weight]) => ({ name, weight })),
  source: source('InferenceModel', modelName),
});

const base: PoolPlan = pool({
  endpoints: [address(1)],
  models: [
    model('food-review', 'Standard', [
      ['food-review-v1', 90],
      ['food-review-v2', 10],
    ]),
    model('chat', 'Critical'),
    model('batch', 'Sheddable'),
  ],
  objectives: [
    { name: 'premium', priority: 10, source: source('InferenceObjective', 'premium') },
    { name: 'best-effort', priority: -5, source: source('InferenceObjective', 'best-effort') },
  ],
  rewrites: [
    {
      name: 'rw',
      rules: [
        {
          matches: [{ type: 'Exact', value: 'llama' }],
          targets: [
            { modelRewrite: 'llama-3.1-8b', weight: 1 },
            { modelRewrite: 'llama-3.2-8b', weight: 3 },
          ],
        },
      ],
      source: source('InferenceModelRewrite', 'rw'),
    },
  ],
});

describe('PoolObjectives', () => {
  const o = new PoolObjectives(base);
  const rng = new SeededRng(1);

  it.each([
    ['Critical → priority 1', 'chat', {}, { targetModel: 'chat', priority: 1, criticality: 'Critical' }],
    ['Sheddable → −1', 'batch', {}, { priority: -1, criticality: 'Sheddable' }],
    [
      'objective header overrides',
      'batch',
      { 'x-gateway-inference-objective': 'premium' },
      { priority: 10, objective: 'premium', criticality: 'Sheddable' },
    ],
    [
      'objective alone sets criticality',
      'other',
      { 'x-gateway-inference-objective': 'best-effort' },
      { priority: -5, criticality: 'Sheddable' },
    ],
    [
      'unknown objective is ignored',
      'chat',
      { 'x-gateway-inference-objective': 'nope' },
      { priority: 1, objective: undefined },
    ],
    [
      'unknown model passes through as Standard',
      'mystery',
      {},
      { targetModel: 'mystery', priority: 0, criticality: undefined },
    ],
  ] as const)('%s', (_label, m, headers, want) => {
    expect(o.resolve(request({ model: m, headers: { ...headers } }), rng)).toMatchObject(want);
  });

  it('draws InferenceModel targets by weight (seeded, 20 000 draws, ±1.5 points)', () => {
    const r = new SeededRng(7);
    let v2 = 0;
    for (let i = 0; i < 20_000; i++) {
      const c = o.resolve(request({ model: 'food-review' }), r);
      expect(c.clientModel).toBe('food-review');
      if (c.targetModel === 'food-review-v2') v2++;
      else expect(c.targetModel).toBe('food-review-v1');
    }
    expect(Math.abs(v2 / 20_000 - 0.1)).toBeLessThan(0.015);
  });

  it('draws InferenceModelRewrite targets by weight', () => {
    const r = new SeededRng(8);
    let b = 0;
    for (let i = 0; i < 8000; i++)
      if (o.resolve(request({ model: 'llama' }), r).targetModel === 'llama-3.2-8b') b++;
    expect(Math.abs(b / 8000 - 0.75)).toBeLessThan(0.02);
  });

  it('the same seed gives the same draws', () => {
    const seq = (seed: number) => {
      const r = new SeededRng(seed);
      return Array.from({ length: 50 }, () => o.resolve(request({ model: 'food-review' }), r).targetModel);
    };
    expect(seq(3)).toEqual(seq(3));
  });

  it('rejects unknown models with 404 when the pool asks for it', () => {
    const strict = new PoolObjectives({ ...base, annotations: { 'infergate.io/unknown-models': 'reject' } });
    const err = (() => {
      try {
        strict.resolve(request({ model: 'mystery' }), rng);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('MODEL_NOT_FOUND');
    expect((err as GatewayError).status).toBe(404);
    expect(strict.resolve(request({ model: 'chat' }), rng).targetModel).toBe('chat');
  });

  it('a pool declaring no models passes everything through even when set to reject', () => {
    const bare = new PoolObjectives(pool({ endpoints: [address(1)] }), 'reject');
    expect(bare.resolve(request({ model: 'anything' }), rng).targetModel).toBe('anything');
  });

  it.each([
    ['premium', 10, 'Critical'],
    ['zero', 0, 'Standard'],
    ['best-effort', -5, 'Sheddable'],
  ] as const)('an objective alone (%s, priority %i) sets criticality %s', (name, priority, criticality) => {
    const p = new PoolObjectives({
      ...base,
      objectives: [
        ...base.objectives,
        { name: 'zero', priority: 0, source: source('InferenceObjective', 'zero') },
      ],
    });
    const choice = p.resolve(
      request({ model: 'mystery', headers: { 'x-gateway-inference-objective': name } }),
      rng,
    );
    expect(choice).toEqual({
      clientModel: 'mystery',
      targetModel: 'mystery',
      priority,
      criticality,
      objective: name,
    });
  });

  it('an objective header sent twice: the first one counts', () => {
    const r = {
      ...request({ model: 'mystery' }),
      headers: { 'x-gateway-inference-objective': ['premium', 'best-effort'] },
    };
    expect(o.resolve(r, rng)).toMatchObject({ objective: 'premium', priority: 10 });
  });

  it('a request without a model: nothing declared applies, nothing is rejected', () => {
    const strict = new PoolObjectives({ ...base, annotations: { 'infergate.io/unknown-models': 'reject' } });
    const req = request({ prompt: 'p' });
    expect(strict.resolve(req, rng)).toEqual({
      clientModel: undefined,
      targetModel: undefined,
      priority: 0,
      criticality: undefined,
      objective: undefined,
    });
  });

  it('rejects an unknown model by name, in the model field', () => {
    const strict = new PoolObjectives({ ...base, annotations: { 'infergate.io/unknown-models': 'reject' } });
    const err = (() => {
      try {
        strict.resolve(request({ model: 'mystery' }), rng);
      } catch (e) {
        return e as GatewayError;
      }
    })();
    expect([err?.message, err?.param]).toEqual(['The model `mystery` does not exist.', 'model']);
  });

  it('the annotation decides the policy; other values fall back to the default', () => {
    const withPolicy = (value: string | undefined, fallback: 'reject' | 'passthrough') =>
      new PoolObjectives(
        {
          ...base,
          ...(value !== undefined ? { annotations: { 'infergate.io/unknown-models': value } } : {}),
        },
        fallback,
      ).unknownModels;
    expect(withPolicy('passthrough', 'reject')).toBe('passthrough');
    expect(withPolicy('reject', 'passthrough')).toBe('reject');
    expect(withPolicy('Reject', 'passthrough')).toBe('passthrough');
    expect(withPolicy(undefined, 'reject')).toBe('reject');
    expect(new PoolObjectives(base).unknownModels).toBe('passthrough');
  });

  it('a pool with only rewrites declares models: unknown ones are rejected when asked', () => {
    const onlyRewrites = new PoolObjectives(
      { ...base, models: [], annotations: { 'infergate.io/unknown-models': 'reject' } },
      'passthrough',
    );
    expect(onlyRewrites.declaresModels).toBe(true);
    expect(() => onlyRewrites.resolve(request({ model: 'mystery' }), rng)).toThrow(GatewayError);
    expect(onlyRewrites.resolve(request({ model: 'llama' }), rng).targetModel).toMatch(/^llama-3\.[12]-8b$/);
    const onlyModels = new PoolObjectives({ ...base, rewrites: [] });
    expect(onlyModels.declaresModels).toBe(true);
    expect(new PoolObjectives({ ...base, rewrites: [], models: [] }).declaresModels).toBe(false);
  });

  it('rewrite rules: empty ones are skipped, the first rule naming a model wins', () => {
    const rw = (value: string, targets: [string, number][]) => ({
      matches: [{ type: 'Exact' as const, value }],
      targets: targets.map(([modelRewrite, weight]) => ({ modelRewrite, weight })),
    });
    const p = new PoolObjectives({
      ...base,
      models: [],
      rewrites: [
        {
          name: 'rw',
          rules: [rw('a', []), rw('a', [['a-1', 1]]), rw('a', [['a-2', 1]]), rw('b', [['b-1', 1]])],
          source: source('InferenceModelRewrite', 'rw'),
        },
      ],
    });
    for (let i = 0; i < 20; i++) expect(p.resolve(request({ model: 'a' }), rng).targetModel).toBe('a-1');
    expect(p.resolve(request({ model: 'b' }), rng).targetModel).toBe('b-1');
  });

  it('weights: zero, negative and non-finite weights never drawn; all of them unusable means equal shares', () => {
    const p = (targets: [string, number][]) =>
      new PoolObjectives({ ...base, models: [model('x', 'Standard', targets)], rewrites: [] });
    const r = new SeededRng(11);
    const drawn = (targets: [string, number][]) => {
      const seen = new Map<string, number>();
      const objectives = p(targets);
      for (let i = 0; i < 400; i++) {
        const t = objectives.resolve(request({ model: 'x' }), r).targetModel!;
        seen.set(t, (seen.get(t) ?? 0) + 1);
      }
      return seen;
    };
    expect([
      ...drawn([
        ['zero', 0],
        ['neg', -3],
        ['inf', Number.POSITIVE_INFINITY],
        ['nan', Number.NaN],
        ['ok', 2],
      ]).keys(),
    ]).toEqual(['ok']);
    const equal = drawn([
      ['a', 0],
      ['b', -1],
    ]);
    expect(equal.get('a')).toBeGreaterThan(100);
    expect(equal.get('b')).toBeGreaterThan(100);
    // One target: always it, whatever its weight.
    expect([...drawn([['only', 0]]).keys()]).toEqual(['only']);
  });
});
