import { describe, expect, it } from 'vitest';
import { modelsPathTarget, poolModelCards, type ServedNames } from './models-list.js';

const card = (id: string, root: string) => ({
  id,
  object: 'model',
  created: 1700,
  owned_by: 'infergate',
  root,
  parent: null,
});

describe('poolModelCards', () => {
  it('lists InferenceModel names (root: the first target) and rewrite matches (root: the rewrite)', () => {
    const pools: ServedNames[] = [
      {
        models: [
          { modelName: 'chat', targetModels: [{ name: 'chat-v1' }, { name: 'chat-v2' }] },
          { modelName: 'plain', targetModels: [] },
        ],
        rewrites: [
          {
            rules: [
              { matches: [{ value: 'gpt-4' }, { value: 'gpt-4o' }], targets: [{ modelRewrite: 'llama' }] },
              { matches: [{ value: 'as-is' }], targets: [] },
            ],
          },
        ],
      },
    ];
    expect(poolModelCards(pools, 1700)).toEqual([
      card('chat', 'chat-v1'),
      card('plain', 'plain'),
      card('gpt-4', 'llama'),
      card('gpt-4o', 'llama'),
      card('as-is', 'as-is'),
    ]);
  });

  it('keeps the first occurrence of a name across pools', () => {
    const a: ServedNames = { models: [{ modelName: 'm', targetModels: [{ name: 'from-a' }] }], rewrites: [] };
    const b: ServedNames = {
      models: [{ modelName: 'm', targetModels: [{ name: 'from-b' }] }],
      rewrites: [{ rules: [{ matches: [{ value: 'm' }], targets: [{ modelRewrite: 'from-b-rw' }] }] }],
    };
    expect(poolModelCards([a, b], 1700)).toEqual([card('m', 'from-a')]);
    expect(poolModelCards([], 1700)).toEqual([]);
  });
});

describe('modelsPathTarget', () => {
  it.each([
    ['/v1/models', { kind: 'list' }],
    ['/v1/models/', { kind: 'list' }],
    ['/v1/models/chat', { kind: 'one', id: 'chat' }],
    ['/v1/models/org%2Fmodel', { kind: 'one', id: 'org/model' }],
    ['/v1/models/%E0%A4%A', undefined],
    ['/v1/model', undefined],
    ['/v1/completions', undefined],
    ['/v2/models/x', undefined],
  ])('%s → %j', (path, want) => {
    expect(modelsPathTarget(path)).toEqual(want);
  });
});
