/**
 * EndpointPickerConfig → PickerConfigPlan. The envelope is checked here (plugin names unique, profiles
 * refer to defined plugins, saturation thresholds in range); plugin types and parameters are the
 * scheduling room's business and are checked through the `validatePickerConfig` hook.
 */
import { parseDuration } from '../../util/duration.js';
import { Codes, closest, listOr, whereOf } from '../diagnostics.js';
import type { PickerConfigPlan } from '../plan.js';
import type { BuildContext } from './context.js';

export type PickerConfigValidator = (
  cfg: PickerConfigPlan,
) => { path: string; message: string; fix?: string }[];

export function buildPickerConfigs(ctx: BuildContext, validate?: PickerConfigValidator): PickerConfigPlan[] {
  const { sink } = ctx;
  const out: PickerConfigPlan[] = [];
  for (const cfg of ctx.store.list('EndpointPickerConfig')) {
    const where = whereOf(cfg.src);
    const body = cfg.body;
    let ok = true;
    const names = new Map<string, number>();
    const plugins: PickerConfigPlan['plugins'][number][] = [];
    for (let i = 0; i < body.plugins.length; i++) {
      const p = body.plugins[i]!;
      const name = p.name || p.type;
      const first = names.get(name);
      if (first !== undefined) {
        ok = false;
        sink.error(
          where,
          Codes.DUPLICATE_PLUGIN,
          p.name ? `plugins[${i}].name` : `plugins[${i}].type`,
          `plugin name "${name}" is already used by plugins[${first}]${p.name ? '' : ' (a plugin without a name is named after its type)'}`,
          'give one of them a distinct `name:`',
        );
        continue;
      }
      names.set(name, i);
      plugins.push({ type: p.type, name, parameters: p.parameters ?? {} });
    }
    const profiles: PickerConfigPlan['schedulingProfiles'][number][] = [];
    const profileNames = new Map<string, number>();
    const rawProfiles = body.schedulingProfiles ?? [];
    for (let i = 0; i < rawProfiles.length; i++) {
      const prof = rawProfiles[i]!;
      const first = profileNames.get(prof.name);
      if (first !== undefined) {
        ok = false;
        sink.error(
          where,
          Codes.DUPLICATE_NAME,
          `schedulingProfiles[${i}].name`,
          `profile name "${prof.name}" is already used by schedulingProfiles[${first}]`,
          'give every profile its own name',
        );
        continue;
      }
      profileNames.set(prof.name, i);
      for (let j = 0; j < prof.plugins.length; j++) {
        const ref = prof.plugins[j]!.pluginRef;
        if (!names.has(ref)) {
          ok = false;
          const guess = closest(ref, names.keys());
          sink.error(
            where,
            Codes.UNKNOWN_PLUGIN_REF,
            `schedulingProfiles[${i}].plugins[${j}].pluginRef`,
            `no plugin named "${ref}" is defined under plugins`,
            guess
              ? `did you mean "${guess}"?`
              : names.size
                ? `use one of ${listOr([...names.keys()])}, or define it under plugins`
                : 'define it under plugins',
          );
        }
      }
      profiles.push({
        name: prof.name,
        plugins: prof.plugins.map((p) =>
          p.weight === undefined ? { pluginRef: p.pluginRef } : { pluginRef: p.pluginRef, weight: p.weight },
        ),
      });
    }
    const plan: PickerConfigPlan = {
      name: cfg.meta.name,
      plugins,
      schedulingProfiles: profiles,
      source: cfg.src,
    };
    if (body.featureGates) plan.featureGates = body.featureGates;
    const sd = body.saturationDetector;
    if (sd) {
      const detector: NonNullable<PickerConfigPlan['saturationDetector']> = {};
      if (sd.queueDepthThreshold !== undefined) {
        if (sd.queueDepthThreshold < 1) {
          ok = false;
          sink.error(
            where,
            Codes.OUT_OF_RANGE,
            'saturationDetector.queueDepthThreshold',
            `must be at least 1 (got ${sd.queueDepthThreshold}; 0 would count every endpoint as saturated)`,
            'use a queue length, e.g. 5',
          );
        }
        detector.queueDepthThreshold = sd.queueDepthThreshold;
      }
      if (sd.kvCacheUtilThreshold !== undefined) {
        if (sd.kvCacheUtilThreshold <= 0 || sd.kvCacheUtilThreshold > 1) {
          ok = false;
          sink.error(
            where,
            Codes.OUT_OF_RANGE,
            'saturationDetector.kvCacheUtilThreshold',
            `must be above 0 and at most 1 (got ${sd.kvCacheUtilThreshold})`,
            'use a fraction of the KV cache, e.g. 0.8',
          );
        }
        detector.kvCacheUtilThreshold = sd.kvCacheUtilThreshold;
      }
      if (sd.metricsStalenessThreshold !== undefined) {
        detector.metricsStalenessThresholdMs = parseDuration(sd.metricsStalenessThreshold)!;
      }
      plan.saturationDetector = detector;
    }
    for (const f of ['data', 'flowControl', 'parser'] as const) {
      if (body[f] !== undefined)
        sink.info(where, Codes.NOT_APPLIED, f, `"${f}" is accepted but not applied by infergate`);
    }
    if (ok && validate) {
      for (const problem of validate(plan)) {
        ok = false;
        sink.error(where, Codes.PICKER_CONFIG_INVALID, problem.path, problem.message, problem.fix);
      }
    }
    if (ok) out.push(plan);
  }
  return out;
}
