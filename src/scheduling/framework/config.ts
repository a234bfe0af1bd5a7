/**
 * EndpointPickerConfig → scheduler, in the reference format and with the reference defaults:
 * - each plugin's `name` defaults to its `type`; names are unique;
 * - no `schedulingProfiles` → one profile `default` referencing every plugin;
 * - a profile without a picker gets a `max-score-picker`; a scorer reference without a weight gets 1;
 * - no profile handler → `single-profile-handler` (which runs exactly one profile).
 * Every problem is reported with its field path (`plugins[2].parameters.blockSize`), the plugin's
 * name, and what would fix it; nothing is built when there is one.
 */
import { closest } from '../../config/diagnostics.js';
import type { PickerConfigPlan } from '../../config/plan.js';
import type { Rng } from '../../util/rng.js';
import { PLUGIN_ALIASES, PLUGIN_FACTORIES } from '../plugin-catalog.js';
import { SATURATION_FILTER } from '../plugins/filters/saturation-filter.js';
import { MaxScorePicker } from '../plugins/pickers/max-score-picker.js';
import {
  SINGLE_PROFILE_HANDLER,
  SingleProfileHandler,
} from '../plugins/profile-handlers/single-profile-handler.js';
import { PluginParamsError } from './params.js';
import { Scheduler, type SchedulerProfile, type WeightedScorer } from './scheduler.js';
import type { Filter, Picker, Plugin, PluginFactory, ProfileHandler } from './types.js';

export interface ConfigIssue {
  /** Field path inside the EndpointPickerConfig. */
  path: string;
  message: string;
  fix?: string;
}

export interface InstantiatedConfig {
  handler: ProfileHandler;
  profiles: SchedulerProfile[];
  /** Every plugin instance by name (including defaults added for missing pickers/handler). */
  plugins: Map<string, Plugin>;
}

export function instantiatePickerConfig(
  cfg: PickerConfigPlan,
  factories: ReadonlyMap<string, PluginFactory> = PLUGIN_FACTORIES,
): { config?: InstantiatedConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const plugins = new Map<string, Plugin>();

  cfg.plugins.forEach((spec, i) => {
    const name = spec.name || spec.type;
    const at = `plugins[${i}]`;
    if (plugins.has(name) || cfg.plugins.slice(0, i).some((o) => (o.name || o.type) === name)) {
      issues.push({
        path: `${at}.name`,
        message: `plugin name "${name}" is used twice`,
        fix: 'give each plugin instance its own `name`',
      });
      return;
    }
    const factory = factories.get(spec.type) ?? factories.get(PLUGIN_ALIASES.get(spec.type) ?? '');
    if (!factory) {
      const near = closest(spec.type, [...factories.keys()]);
      issues.push({
        path: `${at}.type`,
        message: `unknown plugin type "${spec.type}" (plugin "${name}")`,
        fix: near
          ? `did you mean "${near}"? known types: ${[...factories.keys()].join(', ')}`
          : `known types: ${[...factories.keys()].join(', ')}`,
      });
      return;
    }
    try {
      plugins.set(name, factory(name, withDetectorDefaults(cfg, spec)));
    } catch (err) {
      if (err instanceof PluginParamsError) {
        for (const issue of err.issues) {
          issues.push({
            path: issue.field ? `${at}.parameters.${issue.field}` : `${at}.parameters`,
            message: `plugin "${name}" (${spec.type}): ${issue.message}`,
            ...(issue.fix ? { fix: issue.fix } : {}),
          });
        }
      } else {
        issues.push({
          path: `${at}.parameters`,
          message: `plugin "${name}" (${spec.type}): ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    }
  });

  const handlers = [...plugins.values()].filter((p): p is ProfileHandler => p.kind === 'profile-handler');
  if (handlers.length > 1) {
    issues.push({
      path: 'plugins',
      message: `${handlers.length} profile handlers (${handlers.map((h) => h.name).join(', ')}); at most one is allowed`,
      fix: 'keep one profile handler plugin',
    });
  }

  const specs: PickerConfigPlan['schedulingProfiles'] =
    cfg.schedulingProfiles.length > 0
      ? cfg.schedulingProfiles
      : [{ name: 'default', plugins: cfg.plugins.map((p) => ({ pluginRef: p.name || p.type })) }];
  const profiles: SchedulerProfile[] = [];
  const profileNames = new Set<string>();
  specs.forEach((spec, j) => {
    const at = `schedulingProfiles[${j}]`;
    if (profileNames.has(spec.name)) {
      issues.push({ path: `${at}.name`, message: `profile name "${spec.name}" is used twice` });
    }
    profileNames.add(spec.name);
    const filters: Filter[] = [];
    const scorers: WeightedScorer[] = [];
    let picker: Picker | undefined;
    spec.plugins.forEach((ref, k) => {
      const refAt = `${at}.plugins[${k}]`;
      const plugin = plugins.get(ref.pluginRef);
      if (!plugin) {
        // A reference to a plugin that failed to build was already reported at the plugin.
        const declared = cfg.plugins.some((p) => (p.name || p.type) === ref.pluginRef);
        if (!declared) {
          issues.push({
            path: `${refAt}.pluginRef`,
            message: `profile "${spec.name}" refers to plugin "${ref.pluginRef}", which is not declared`,
            fix: `declare it under plugins, or use one of: ${[...plugins.keys()].join(', ') || '(none)'}`,
          });
        }
        return;
      }
      const weight = ref.weight ?? 1;
      if (ref.weight !== undefined && (!Number.isFinite(ref.weight) || ref.weight < 0)) {
        issues.push({
          path: `${refAt}.weight`,
          message: `weight of "${ref.pluginRef}" must be a number ≥ 0, got ${ref.weight}`,
          fix: 'weight: 1',
        });
      }
      switch (plugin.kind) {
        case 'filter':
          filters.push(plugin);
          break;
        case 'scorer':
          scorers.push({ scorer: plugin, weight: Math.max(0, weight) });
          break;
        case 'picker':
          if (picker) {
            issues.push({
              path: `${refAt}.pluginRef`,
              message: `profile "${spec.name}" has two pickers ("${picker.name}" and "${plugin.name}")`,
              fix: 'keep one picker per profile',
            });
          }
          picker = plugin;
          break;
        case 'profile-handler':
          issues.push({
            path: `${refAt}.pluginRef`,
            message: `"${plugin.name}" is a profile handler; profiles list filters, scorers and a picker`,
            fix: 'declare the handler under plugins only',
          });
          break;
      }
    });
    profiles.push({
      name: spec.name,
      filters,
      scorers,
      picker: picker ?? new MaxScorePicker('max-score-picker', 1),
    });
  });

  const handler = handlers[0] ?? new SingleProfileHandler(SINGLE_PROFILE_HANDLER);
  if (handler.type === SINGLE_PROFILE_HANDLER && profiles.length > 1) {
    issues.push({
      path: 'schedulingProfiles',
      message: `${profiles.length} scheduling profiles, but ${SINGLE_PROFILE_HANDLER} runs exactly one`,
      fix: 'keep one profile (infergate has no multi-profile handler yet)',
    });
  }

  if (issues.length > 0) return { issues };
  return { config: { handler, profiles, plugins }, issues };
}

/** The hook the config loader calls: every problem of a config, with paths; [] when it loads. */
export function validatePickerConfig(cfg: PickerConfigPlan): ConfigIssue[] {
  return instantiatePickerConfig(cfg).issues;
}

/**
 * A plugin's parameters; the saturation filter's unset thresholds come from the config's
 * `saturationDetector` (upstream configures the detector there), its own parameters win.
 */
function withDetectorDefaults(
  cfg: PickerConfigPlan,
  spec: PickerConfigPlan['plugins'][number],
): Readonly<Record<string, unknown>> {
  const params = spec.parameters ?? {};
  const sd = cfg.saturationDetector;
  const type = PLUGIN_ALIASES.get(spec.type) ?? spec.type;
  if (!sd || type !== SATURATION_FILTER) return params;
  return {
    ...(sd.queueDepthThreshold !== undefined ? { queueDepthThreshold: sd.queueDepthThreshold } : {}),
    ...(sd.kvCacheUtilThreshold !== undefined ? { kvCacheUtilThreshold: sd.kvCacheUtilThreshold } : {}),
    ...(sd.metricsStalenessThresholdMs !== undefined
      ? { metricsStalenessThreshold: sd.metricsStalenessThresholdMs }
      : {}),
    ...params,
  };
}

/** Builds a scheduler; throws when the config has issues (validate first). */
export function buildScheduler(cfg: PickerConfigPlan, rng: Rng, fallbacks?: number): Scheduler {
  const { config, issues } = instantiatePickerConfig(cfg);
  if (!config) {
    throw new Error(
      `EndpointPickerConfig ${cfg.name}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  }
  return new Scheduler(config.handler, config.profiles, rng, fallbacks);
}
