/**
 * InferencePools with everything that hangs off them: endpoints (Pods), workloads, InferenceModels
 * (oldest wins a duplicated modelName), InferenceObjectives, InferenceModelRewrites, the
 * EndpointPickerConfig each pool uses, and ACK's `attach-to` annotation (a route without HTTPRoute).
 */
import { parse as parseYaml } from 'yaml';
import { Codes, originOf, type Where, whereOf } from '../diagnostics.js';
import { keyOf, type LoadedObject } from '../objects.js';
import type {
  Criticality,
  ModelPlan,
  ModelRewritePlan,
  ObjectivePlan,
  PickerConfigPlan,
  PoolPlan,
} from '../plan.js';
import {
  ATTACH_TO_ANNOTATION,
  INFERENCE_GROUP,
  INFERENCE_GROUP_X,
  type InferencePoolV1,
  type InferencePoolV1alpha2,
  PICKER_CONFIG_ANNOTATION,
  ROUTING_STRATEGY_ANNOTATION,
} from '../schema/inference.js';
import { groupOf } from './backends.js';
import { type BuildContext, gatewayKey, type RouteDraft } from './context.js';
import { workloadsMatching } from './endpoints.js';
import { DEFAULT_MATCH } from './http-routes.js';
import { olderObjectFirst } from './matching.js';

type PoolObject = LoadedObject<'InferencePool'>;

const DEFAULT_PICKER_PORT = 9002;

export function buildPools(ctx: BuildContext, pickerConfigs: readonly PickerConfigPlan[]): void {
  const { sink } = ctx;
  for (const pool of ctx.store.list('InferencePool')) {
    const where = whereOf(pool.src);
    const ns = pool.meta.namespace;
    const version = pool.src.apiVersion;
    let plan: PoolPlan;
    const base = {
      key: keyOf(ns, pool.meta.name),
      namespace: ns,
      name: pool.meta.name,
      apiVersion: version,
      endpoints: [],
      workloads: [],
      models: [],
      objectives: [],
      rewrites: [],
      source: pool.src,
    };
    if (groupOf(version) === INFERENCE_GROUP) {
      const spec = (pool.body as InferencePoolV1).spec;
      const ports: number[] = [];
      let ok = true;
      for (let i = 0; i < spec.targetPorts.length; i++) {
        const n = spec.targetPorts[i]!.number;
        const first = ports.indexOf(n);
        if (first >= 0) {
          ok = false;
          sink.error(
            where,
            Codes.DUPLICATE_PORT,
            `spec.targetPorts[${i}].number`,
            `port ${n} is listed twice (also spec.targetPorts[${first}])`,
            'list each target port once',
          );
        }
        ports.push(n);
      }
      const ref = spec.endpointPickerRef;
      if (ref && (ref.kind ?? 'Service') === 'Service' && ref.port === undefined) {
        ok = false;
        sink.error(
          where,
          Codes.MISSING_FIELD,
          'spec.endpointPickerRef.port',
          'an endpointPickerRef to a Service needs a port',
          'add `port: {number: 9002}`',
        );
      }
      if (!ok) continue;
      plan = {
        ...base,
        selector: { matchLabels: spec.selector.matchLabels },
        targetPorts: ports,
        appProtocol: spec.appProtocol ?? 'http',
      };
      if (ref) {
        plan.endpointPicker = {
          kind: ref.kind ?? 'Service',
          name: ref.name,
          failureMode: ref.failureMode ?? 'FailClose',
        };
        if (ref.port) plan.endpointPicker.port = ref.port.number;
      }
    } else {
      const spec = (pool.body as InferencePoolV1alpha2).spec;
      plan = {
        ...base,
        selector: { matchLabels: spec.selector },
        targetPorts: [spec.targetPortNumber],
        appProtocol: 'http',
      };
      const ref = spec.extensionRef;
      if (ref) {
        plan.endpointPicker = {
          kind: ref.kind ?? 'Service',
          name: ref.name,
          port: ref.portNumber ?? DEFAULT_PICKER_PORT,
          failureMode: ref.failureMode ?? 'FailClose',
        };
      }
    }
    if (Object.keys(pool.meta.annotations).length > 0) plan.annotations = pool.meta.annotations;
    const strategy = pool.meta.annotations[ROUTING_STRATEGY_ANNOTATION];
    if (strategy !== undefined) plan.routingStrategy = strategy;
    plan.endpoints = ctx.endpoints.poolEndpoints(ns, plan.selector, plan.targetPorts);
    plan.workloads = workloadsMatching(ctx.store, ns, plan.selector);
    choosePickerConfig(ctx, pool, where, plan, pickerConfigs);
    ctx.pools.set(plan.key, plan);
    attachTo(ctx, pool, where, plan);
  }
  buildModels(ctx);
  buildObjectives(ctx);
  buildRewrites(ctx);
}

/**
 * (1) annotation `infergate.io/endpoint-picker-config: <name>`; (2) a config named like the pool's
 * extensionRef / endpointPickerRef; (3) the only config in the pool's namespace; else none.
 */
function choosePickerConfig(
  ctx: BuildContext,
  pool: PoolObject,
  where: Where,
  plan: PoolPlan,
  configs: readonly PickerConfigPlan[],
): void {
  const ns = plan.namespace;
  const inNs = configs.filter((c) => c.source.namespace === ns);
  const wanted = pool.meta.annotations[PICKER_CONFIG_ANNOTATION];
  if (wanted !== undefined) {
    const cfg = inNs.find((c) => c.name === wanted);
    if (cfg) {
      plan.pickerConfig = cfg;
      plan.pickerConfigChosenBy = 'annotation';
    } else {
      const names = inNs.filter((c) => c.name).map((c) => `"${c.name}"`);
      ctx.sink.unresolved(
        where,
        Codes.REF_NOT_FOUND,
        `metadata.annotations["${PICKER_CONFIG_ANNOTATION}"]`,
        `no EndpointPickerConfig named "${wanted}" in namespace ${ns}`,
        names.length
          ? `use one of ${names.join(', ')}`
          : 'add an EndpointPickerConfig with that metadata.name',
      );
    }
    return;
  }
  const byRef = plan.endpointPicker ? inNs.find((c) => c.name === plan.endpointPicker!.name) : undefined;
  if (byRef) {
    plan.pickerConfig = byRef;
    plan.pickerConfigChosenBy = 'endpoint-picker-ref';
    return;
  }
  if (inNs.length === 1) {
    plan.pickerConfig = inNs[0]!;
    plan.pickerConfigChosenBy = 'only-config-in-namespace';
    return;
  }
  if (inNs.length > 1) {
    ctx.sink.info(
      where,
      Codes.AMBIGUOUS_PICKER_CONFIG,
      'metadata.annotations',
      `${inNs.length} EndpointPickerConfigs are in namespace ${ns} and none is chosen for this pool; it uses the scheduler's default profile`,
      `annotate the pool with ${PICKER_CONFIG_ANNOTATION}: <name>`,
    );
  }
}

/** ACK `attach-to: "name: <gateway>\nport: <port>"`: the pool serves every path on that Gateway port. */
function attachTo(ctx: BuildContext, pool: PoolObject, where: Where, plan: PoolPlan): void {
  const raw = pool.meta.annotations[ATTACH_TO_ANNOTATION];
  if (raw === undefined) return;
  const path = `metadata.annotations["${ATTACH_TO_ANNOTATION}"]`;
  let value: unknown;
  try {
    value = parseYaml(raw);
  } catch {
    value = undefined;
  }
  const v = value as { name?: unknown; port?: unknown; namespace?: unknown } | undefined;
  const port =
    typeof v?.port === 'number' ? v.port : typeof v?.port === 'string' ? Number(v.port) : Number.NaN;
  if (
    !v ||
    typeof v !== 'object' ||
    typeof v.name !== 'string' ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535
  ) {
    ctx.sink.error(
      where,
      Codes.BAD_ANNOTATION,
      path,
      'the annotation must be YAML with a Gateway name and a port number',
      'write it as "name: <gateway>\\nport: <port>", e.g. "name: inference-gateway\\nport: 8081"',
    );
    return;
  }
  const gwNs = typeof v.namespace === 'string' ? v.namespace : plan.namespace;
  const gwKey = keyOf(gwNs, v.name);
  const route: RouteDraft = {
    key: `PoolAttachment ${plan.key}`,
    kind: 'PoolAttachment',
    namespace: plan.namespace,
    name: plan.name,
    loadOrder: pool.loadOrder,
    hostnames: [],
    listenerKeys: [],
    rules: [
      {
        index: 0,
        matches: [DEFAULT_MATCH],
        backends: [{ kind: 'InferencePool', key: plan.key, weight: 1, resolved: true }],
        mirrors: [],
        timeouts: {},
      },
    ],
    source: pool.src,
  };
  if (pool.meta.creationTimestamp) route.creationTimestamp = pool.meta.creationTimestamp;
  ctx.routes.push(route);
  if (!ctx.store.get('Gateway', gwKey)) {
    if (!ctx.store.isInvalid('Gateway', gwKey)) {
      ctx.sink.unresolved(
        where,
        Codes.REF_NOT_FOUND,
        path,
        `Gateway ${gwKey} is not defined in the manifests given`,
        'add the Gateway to the files given with -f, or fix the name',
      );
    }
    return;
  }
  const listeners = (ctx.listenersByGateway.get(gatewayKey('Gateway', gwNs, v.name)) ?? []).filter(
    (l) => l.port === port,
  );
  if (listeners.length === 0) {
    const ports = [
      ...new Set((ctx.listenersByGateway.get(gatewayKey('Gateway', gwNs, v.name)) ?? []).map((l) => l.port)),
    ];
    ctx.sink.unresolved(
      where,
      Codes.SECTION_NOT_FOUND,
      path,
      `Gateway ${gwKey} has no HTTP listener on port ${port}`,
      ports.length ? `use one of its ports: ${ports.join(', ')}` : 'add a listener on that port',
    );
    return;
  }
  for (const l of listeners) {
    route.listenerKeys.push(l.key);
    l.routeKeys.push(route.key);
  }
}

/** Resolves a poolRef (same namespace) to a pool plan, reporting problems. */
function poolOf(
  ctx: BuildContext,
  where: Where,
  ns: string,
  ref: { group?: string | undefined; kind?: string | undefined; name: string },
  defaultGroup: string | undefined,
): PoolPlan | undefined {
  const kind = ref.kind ?? 'InferencePool';
  if (kind !== 'InferencePool') {
    ctx.sink.unresolved(
      where,
      Codes.INVALID_REF_KIND,
      'spec.poolRef.kind',
      `poolRef kind ${kind} is not supported`,
      'use kind: InferencePool',
    );
    return undefined;
  }
  const key = keyOf(ns, ref.name);
  const pool = ctx.pools.get(key);
  if (!pool) {
    if (!ctx.store.isInvalid('InferencePool', key) && !ctx.store.get('InferencePool', key)) {
      const names = ctx.store
        .list('InferencePool')
        .filter((p) => p.meta.namespace === ns)
        .map((p) => `"${p.meta.name}"`);
      ctx.sink.unresolved(
        where,
        Codes.REF_NOT_FOUND,
        'spec.poolRef.name',
        `InferencePool ${key} is not defined in the manifests given`,
        names.length
          ? `use one of ${names.join(', ')} (the pool must be in the same namespace)`
          : 'add the InferencePool to the files given with -f, or fix the name',
      );
    }
    return undefined;
  }
  const group = ref.group ?? defaultGroup;
  const poolGroup = groupOf(pool.apiVersion);
  if (group !== undefined && group !== poolGroup) {
    ctx.sink.unresolved(
      where,
      Codes.REF_NOT_FOUND,
      'spec.poolRef.group',
      `InferencePool ${key} is a ${pool.apiVersion} object, not ${group}`,
      `set group: ${poolGroup}`,
    );
    return undefined;
  }
  return pool;
}

function buildModels(ctx: BuildContext): void {
  const winners = new Map<string, LoadedObject<'InferenceModel'>>();
  const models = [...ctx.store.list('InferenceModel')].sort(olderObjectFirst);
  for (const m of models) {
    const where = whereOf(m.src);
    const spec = m.body.spec;
    const v1alpha1 = m.src.apiVersion.endsWith('/v1alpha1');
    const targets = spec.targetModels ?? [];
    const weighted = targets.filter((t) => t.weight !== undefined).length;
    if (!v1alpha1 && weighted > 0 && weighted < targets.length) {
      const missing = targets.flatMap((t, i) => (t.weight === undefined ? [`targetModels[${i}]`] : []));
      ctx.sink.error(
        where,
        Codes.MIXED_WEIGHTS,
        'spec.targetModels',
        `weights are set on ${weighted} of ${targets.length} target models (missing on ${missing.join(', ')})`,
        'set a weight on every target model, or on none for an equal split',
      );
      continue;
    }
    const pool = poolOf(ctx, where, m.meta.namespace, spec.poolRef, INFERENCE_GROUP_X);
    if (!pool) continue;
    const dupKey = `${pool.key}\u0000${spec.modelName}`;
    const winner = winners.get(dupKey);
    if (winner) {
      ctx.sink.unresolved(
        where,
        Codes.DUPLICATE_MODEL_NAME,
        'spec.modelName',
        `modelName "${spec.modelName}" is already served in pool ${pool.key} by the older InferenceModel ${winner.meta.name} (${originOf(winner.src)}); this one is not used`,
        'give it another modelName, or delete one of the two',
      );
      continue;
    }
    winners.set(dupKey, m);
    const crit = spec.criticality;
    const criticality: Criticality = crit === 'Critical' || crit === 'Sheddable' ? crit : 'Standard';
    const model: ModelPlan = {
      name: m.meta.name,
      modelName: spec.modelName,
      criticality,
      targetModels: targets.map((t) => ({ name: t.name, weight: t.weight ?? 1 })),
      source: m.src,
    };
    (pool.models as ModelPlan[]).push(model);
  }
}

function buildObjectives(ctx: BuildContext): void {
  for (const o of ctx.store.list('InferenceObjective')) {
    const pool = poolOf(ctx, whereOf(o.src), o.meta.namespace, o.body.spec.poolRef, undefined);
    if (!pool) continue;
    const plan: ObjectivePlan = { name: o.meta.name, priority: o.body.spec.priority ?? 0, source: o.src };
    (pool.objectives as ObjectivePlan[]).push(plan);
  }
}

function buildRewrites(ctx: BuildContext): void {
  for (const r of ctx.store.list('InferenceModelRewrite')) {
    const where = whereOf(r.src);
    const spec = r.body.spec;
    let ok = true;
    for (let i = 0; i < spec.rules.length; i++) {
      const targets = spec.rules[i]!.targets ?? [];
      const weighted = targets.filter((t) => t.weight !== undefined).length;
      if (weighted > 0 && weighted < targets.length) {
        ok = false;
        ctx.sink.error(
          where,
          Codes.MIXED_WEIGHTS,
          `spec.rules[${i}].targets`,
          `weights are set on ${weighted} of ${targets.length} targets`,
          'set a weight on every target, or on none for an equal split',
        );
      }
    }
    if (!ok) continue;
    const pool = poolOf(ctx, where, r.meta.namespace, spec.poolRef, undefined);
    if (!pool) continue;
    const plan: ModelRewritePlan = {
      name: r.meta.name,
      rules: spec.rules.map((rule) => ({
        matches: (rule.matches ?? []).map((m) => ({ type: 'Exact' as const, value: m.model.value })),
        targets: (rule.targets ?? []).map((t) => ({ modelRewrite: t.modelRewrite, weight: t.weight ?? 1 })),
      })),
      source: r.src,
    };
    (pool.rewrites as ModelRewritePlan[]).push(plan);
  }
}
