/** The scheduling room's public surface. */

export {
  buildScheduler,
  type ConfigIssue,
  instantiatePickerConfig,
  validatePickerConfig,
} from './framework/config.js';
export { SchedulingContext } from './framework/context.js';
export { type ParamIssue, ParamReader, PluginParamsError } from './framework/params.js';
export {
  type PluginTimer,
  type ScheduleResult,
  Scheduler,
  type SchedulerProfile,
  type WeightedScorer,
} from './framework/scheduler.js';
export type {
  EndpointAware,
  Filter,
  Picker,
  Plugin,
  PluginFactory,
  PluginHost,
  ProfileHandler,
  SchedulingTelemetry,
  Scorer,
} from './framework/types.js';
export { PLUGIN_FACTORIES, PLUGIN_TYPES } from './plugin-catalog.js';
export {
  BUILT_IN_PICKER_CONFIGS,
  DEFAULT_PICKER_CONFIG,
  LEAST_REQUEST_PICKER_CONFIG,
  PREFIX_CACHE_PICKER_CONFIG,
  pickerConfigFor,
  ROUND_ROBIN_PICKER_CONFIG,
} from './profiles.js';
export { allSaturated, DEFAULT_SATURATION, isSaturated, type SaturationConfig } from './saturation.js';
