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
});
