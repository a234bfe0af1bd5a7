/**
 * The OpenAI `GET /v1/models` answer for an InferencePool route, built from the names the pools
 * serve (InferenceModel `modelName`s and InferenceModelRewrite matches) in vLLM's shape:
 *   {"object":"list","data":[{"id","object":"model","created","owned_by","root","parent":null}]}
 * A client sees the names it is told to use, not the replicas' adapters.
 */
/** What a pool declares that clients may ask for (structurally config's PoolPlan). */
export interface ServedNames {
  readonly models: readonly { modelName: string; targetModels: readonly { name: string }[] }[];
  readonly rewrites: readonly {
    rules: readonly { matches: readonly { value: string }[]; targets: readonly { modelRewrite: string }[] }[];
  }[];
}

export interface ModelCard {
  id: string;
  object: 'model';
  /** Unix seconds (when the serving plan was loaded). */
  created: number;
  owned_by: string;
  /** The first model name sent upstream for this name (the name itself when not rewritten). */
  root: string;
  parent: null;
}

/** Every name the pools serve, first occurrence first; empty when the pools declare none. */
export function poolModelCards(pools: readonly ServedNames[], createdSeconds: number): ModelCard[] {
  const cards = new Map<string, ModelCard>();
  const add = (id: string, root: string) => {
    if (!cards.has(id))
      cards.set(id, {
        id,
        object: 'model',
        created: createdSeconds,
        owned_by: 'infergate',
        root,
        parent: null,
      });
  };
  for (const pool of pools) {
    for (const m of pool.models) add(m.modelName, m.targetModels[0]?.name ?? m.modelName);
    for (const rw of pool.rewrites)
      for (const rule of rw.rules)
        for (const match of rule.matches) add(match.value, rule.targets[0]?.modelRewrite ?? match.value);
  }
  return [...cards.values()];
}

/** `/v1/models` → the list; `/v1/models/{id}` → that id (URL-decoded); anything else → undefined. */
export function modelsPathTarget(path: string): { kind: 'list' } | { kind: 'one'; id: string } | undefined {
  if (path === '/v1/models' || path === '/v1/models/') return { kind: 'list' };
  if (!path.startsWith('/v1/models/')) return undefined;
  try {
    return { kind: 'one', id: decodeURIComponent(path.slice('/v1/models/'.length)) };
  } catch {
    return undefined;
  }
}
