/**
 * `infergate bench` flags → BenchOptions. Flags are named like vLLM's benchmark where vLLM has one
 * (and like LMCache's multi-round QA and inference-perf's shared_prefix for theirs); every bad value
 * is a BAD_OPTION error that names the flag.
 */
import { BenchError, badOption } from './errors.js';
import type {
  BenchOptions,
  DatasetName,
  DatasetOptions,
  PercentileMetric,
  ProgressMode,
  TargetSpec,
} from './options.js';
import { parseSlo } from './stats.js';
import { parseSplit } from './workload/mix.js';
import { MULTI_ROUND_DEFAULTS } from './workload/multi-round.js';
import { RANDOM_DEFAULTS, type RangeMode } from './workload/random.js';
import { SHARED_PREFIX_DEFAULTS } from './workload/shared-prefix.js';
import type { Endpoint } from './workload/types.js';

/** Raw flag values as commander hands them over (camelCase keys, strings). */
export interface BenchFlags {
  url?: string;
  compare?: string[];
  target?: string[];
  endpoint?: string;
  model?: string;
  servedModelName?: string;
  apiKey?: string;
  datasetName?: string;
  dataset?: string;
  datasetPath?: string;
  randomInputLen?: string;
  randomOutputLen?: string;
  randomRangeRatio?: string;
  randomPrefixLen?: string;
  randomRangeMode?: string;
  sharegptOutputLen?: string;
  numGroups?: string;
  groupZipf?: string;
  promptsPerGroup?: string;
  systemPromptLen?: string;
  questionLen?: string;
  outputLen?: string;
  numUsers?: string;
  numRounds?: string;
  qps?: string;
  sharedSystemPrompt?: string;
  userHistoryPrompt?: string;
  answerLen?: string;
  lora?: string;
  modelMix?: string;
  objectiveMix?: string;
  ignoreEos?: boolean;
  initialTest?: boolean;
  seed?: string;
  requestRate?: string;
  maxConcurrency?: string;
  numPrompts?: string;
  duration?: string;
  time?: string;
  grace?: string;
  requestTimeout?: string;
  timeScale?: string;
  goodput?: string[];
  metricPercentiles?: string;
  percentileMetrics?: string;
  scrapeMetrics?: string[];
  gatewayAdmin?: string[];
  sampleInterval?: string;
  maxConnections?: string;
  progress?: string;
  saveDetailed?: boolean;
  json?: string;
  html?: string;
  scenario?: string;
  /** Scenario targets to run, each NAME or NAME=POLICY (serve --scheduler / --service-lb). */
  strategy?: string;
  /** With --scenario: extra `infergate sim` arguments (repeatable). */
  simArg?: string[];
  quick?: boolean;
  /** With --scenario: the document's own size (e.g. seed 002's 3000 prompts). */
  full?: boolean;
  dryRun?: boolean;
  listScenarios?: boolean;
}

export const DATASET_NAMES: readonly DatasetName[] = [
  'random',
  'sharegpt',
  'shared-prefix',
  'multi-round',
  'lora-mix',
];
const ENDPOINTS: readonly Endpoint[] = ['/v1/completions', '/v1/chat/completions'];
const PERCENTILE_METRICS: readonly PercentileMetric[] = ['ttft', 'tpot', 'itl', 'e2el'];
const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'bar', 'lines', 'none'];

function number(
  flag: string,
  raw: string | undefined,
  opts: { integer?: boolean; min?: number; max?: number; above?: number } = {},
): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  const kind = opts.integer ? 'an integer' : 'a number';
  if (raw.trim() === '' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v))) {
    throw badOption(flag, `must be ${kind}, got "${raw}"`);
  }
  if (opts.min !== undefined && v < opts.min) throw badOption(flag, `must be ≥ ${opts.min}, got ${raw}`);
  if (opts.above !== undefined && v <= opts.above)
    throw badOption(flag, `must be > ${opts.above}, got ${raw}`);
  if (opts.max !== undefined && v > opts.max) throw badOption(flag, `must be ≤ ${opts.max}, got ${raw}`);
  return v;
}

const int = (flag: string, raw: string | undefined, min = 1): number | undefined =>
  number(flag, raw, { integer: true, min });

function oneOf<T extends string>(
  flag: string,
  raw: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw))
    throw badOption(flag, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function checkUrl(flag: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badOption(flag, `must be an http(s) URL such as http://127.0.0.1:8000, got "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw badOption(flag, `must be an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/** `name=URL` or a bare URL (named after its host:port). */
function targetOf(flag: string, raw: string): TargetSpec {
  const eq = raw.indexOf('=');
  if (eq > 0 && !raw.slice(0, eq).includes('/')) {
    return { name: raw.slice(0, eq), url: checkUrl(flag, raw.slice(eq + 1)) };
  }
  const url = checkUrl(flag, raw);
  return { name: new URL(url).host, url };
}

function list(raw: readonly string[] | string | undefined): string[] {
  if (raw === undefined) return [];
  const items = Array.isArray(raw) ? raw : [raw as string];
  return items
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The targets named by --url, --compare and --target, in that order; names made unique. */
export function targetsOf(f: BenchFlags): TargetSpec[] {
  const targets: TargetSpec[] = [];
  if (f.url !== undefined) targets.push(targetOf('--url', f.url));
  for (const c of f.compare ?? []) targets.push(targetOf('--compare', c));
  for (const t of f.target ?? []) {
    if (t.indexOf('=') <= 0) throw badOption('--target', `must be NAME=URL, got "${t}"`);
    targets.push(targetOf('--target', t));
  }
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.name))
      throw badOption('--target', `name "${t.name}" is used twice; name targets with NAME=URL`);
    seen.add(t.name);
  }
  return targets;
}

function datasetOf(f: BenchFlags): DatasetOptions {
  const name = oneOf('--dataset-name', f.datasetName, DATASET_NAMES) ?? 'random';
  const file = f.dataset ?? f.datasetPath;
  if (file !== undefined && name !== 'sharegpt') {
    throw badOption('--dataset', `reads a ShareGPT file and needs --dataset-name sharegpt (got ${name})`);
  }
  switch (name) {
    case 'random':
    case 'lora-mix': {
      const rangeRatio =
        number('--random-range-ratio', f.randomRangeRatio, { min: 0 }) ?? RANDOM_DEFAULTS.rangeRatio;
      const rangeMode =
        oneOf<RangeMode>('--random-range-mode', f.randomRangeMode, ['centered', 'legacy']) ?? 'centered';
      if (rangeMode === 'centered' && rangeRatio >= 1) {
        throw badOption('--random-range-ratio', `must be < 1 with the centered range (got ${rangeRatio})`);
      }
      if (rangeMode === 'legacy' && rangeRatio > 1)
        throw badOption('--random-range-ratio', `must be ≤ 1 (got ${rangeRatio})`);
      return {
        name,
        inputLen: int('--random-input-len', f.randomInputLen, 0) ?? RANDOM_DEFAULTS.inputLen,
        outputLen: int('--random-output-len', f.randomOutputLen) ?? RANDOM_DEFAULTS.outputLen,
        rangeRatio,
        rangeMode,
        prefixLen: int('--random-prefix-len', f.randomPrefixLen, 0) ?? RANDOM_DEFAULTS.prefixLen,
      };
    }
    case 'shared-prefix':
      return {
        name,
        numGroups: int('--num-groups', f.numGroups) ?? SHARED_PREFIX_DEFAULTS.numGroups,
        promptsPerGroup:
          int('--prompts-per-group', f.promptsPerGroup) ?? SHARED_PREFIX_DEFAULTS.promptsPerGroup,
        systemPromptLen:
          int('--system-prompt-len', f.systemPromptLen, 0) ?? SHARED_PREFIX_DEFAULTS.systemPromptLen,
        questionLen: int('--question-len', f.questionLen) ?? SHARED_PREFIX_DEFAULTS.questionLen,
        outputLen: int('--output-len', f.outputLen) ?? SHARED_PREFIX_DEFAULTS.outputLen,
        ...(f.groupZipf !== undefined
          ? { groupZipf: number('--group-zipf', f.groupZipf, { above: 0 }) }
          : {}),
      };
    case 'multi-round': {
      const d = MULTI_ROUND_DEFAULTS;
      return {
        name,
        numUsers: int('--num-users', f.numUsers) ?? d.numUsers,
        numRounds: int('--num-rounds', f.numRounds) ?? d.numRounds,
        qps: number('--qps', f.qps, { above: 0 }) ?? d.qps,
        systemPromptLen: int('--shared-system-prompt', f.sharedSystemPrompt, 0) ?? d.systemPromptLen,
        userHistoryLen: int('--user-history-prompt', f.userHistoryPrompt, 0) ?? d.userHistoryLen,
        answerLen: int('--answer-len', f.answerLen) ?? d.answerLen,
        questionLen:
          f.questionLen === 'sharegpt' ? 'sharegpt' : (int('--question-len', f.questionLen) ?? d.questionLen),
      };
    }
    case 'sharegpt':
      return { name, file, outputLen: int('--sharegpt-output-len', f.sharegptOutputLen) };
  }
}

/** Checks flags that belong to another dataset, so a typo'd combination does not silently do nothing. */
function checkForeignFlags(f: BenchFlags, dataset: DatasetName): void {
  const owners: [keyof BenchFlags, string, readonly DatasetName[]][] = [
    ['randomInputLen', '--random-input-len', ['random', 'lora-mix']],
    ['randomOutputLen', '--random-output-len', ['random', 'lora-mix']],
    ['randomRangeRatio', '--random-range-ratio', ['random', 'lora-mix']],
    ['randomPrefixLen', '--random-prefix-len', ['random', 'lora-mix']],
    ['randomRangeMode', '--random-range-mode', ['random', 'lora-mix']],
    ['sharegptOutputLen', '--sharegpt-output-len', ['sharegpt']],
    ['numGroups', '--num-groups', ['shared-prefix']],
    ['groupZipf', '--group-zipf', ['shared-prefix']],
    ['promptsPerGroup', '--prompts-per-group', ['shared-prefix']],
    ['systemPromptLen', '--system-prompt-len', ['shared-prefix']],
    ['outputLen', '--output-len', ['shared-prefix']],
    ['questionLen', '--question-len', ['shared-prefix', 'multi-round']],
    ['numUsers', '--num-users', ['multi-round']],
    ['numRounds', '--num-rounds', ['multi-round']],
    ['qps', '--qps', ['multi-round']],
    ['sharedSystemPrompt', '--shared-system-prompt', ['multi-round']],
    ['userHistoryPrompt', '--user-history-prompt', ['multi-round']],
    ['answerLen', '--answer-len', ['multi-round']],
  ];
  for (const [key, flag, datasets] of owners) {
    if (f[key] !== undefined && !datasets.includes(dataset)) {
      throw badOption(flag, `applies to --dataset-name ${datasets.join(' or ')}, not ${dataset}`);
    }
  }
}

/** Output files and modes that are not part of the run itself. */
export interface BenchOutputs {
  json?: string | undefined;
  html?: string | undefined;
}

/**
 * Everything but the model name, which may need a GET /v1/models (see `resolveModel`).
 * `env` supplies OPENAI_API_KEY.
 */
export function optionsFromFlags(
  f: BenchFlags,
  env: NodeJS.ProcessEnv = process.env,
): { options: Omit<BenchOptions, 'model'> & { model: string | undefined }; outputs: BenchOutputs } {
  const targets = targetsOf(f);
  if (targets.length === 0)
    throw badOption('--url', 'is required (or --compare URL URL…, or --target NAME=URL …)');
  const endpoint = oneOf('--endpoint', f.endpoint, ENDPOINTS) ?? '/v1/completions';
  const dataset = datasetOf(f);
  checkForeignFlags(f, dataset.name);
  const model = f.servedModelName ?? f.model;

  if (f.lora !== undefined && f.modelMix !== undefined)
    throw badOption('--lora', 'and --model-mix are the same split: give one');
  const mixFlag = f.lora !== undefined ? '--lora' : '--model-mix';
  const mixText = f.lora ?? f.modelMix;
  if (dataset.name === 'lora-mix' && mixText === undefined) {
    throw badOption('--lora', 'is required with --dataset-name lora-mix (e.g. --lora sql-lora:0.5,base:0.5)');
  }
  if (mixText !== undefined && model === undefined && /(^|,)\s*base\s*(:|,|$)/.test(mixText)) {
    throw badOption(mixFlag, '"base" stands for --model: give --model too');
  }
  const modelMix = mixText !== undefined ? parseSplit(mixText, mixFlag, model) : undefined;
  const objectiveMix =
    f.objectiveMix !== undefined ? parseSplit(f.objectiveMix, '--objective-mix') : undefined;

  let requestRate = Number.POSITIVE_INFINITY;
  if (f.requestRate !== undefined && f.requestRate !== 'inf') {
    requestRate = number('--request-rate', f.requestRate, { above: 0 }) ?? requestRate;
  }
  if (f.duration !== undefined && f.time !== undefined)
    throw badOption('--time', 'and --duration are the same bound: give one');
  const durationFlag = f.time !== undefined ? '--time' : '--duration';
  const durationS = number(durationFlag, f.duration ?? f.time, { above: 0 });
  const maxConcurrency = int('--max-concurrency', f.maxConcurrency);
  let numPrompts = int('--num-prompts', f.numPrompts);
  if (numPrompts === undefined && durationS === undefined) {
    if (dataset.name === 'multi-round') {
      throw badOption(
        '--duration',
        'is required with --dataset-name multi-round (users keep joining), or give --num-prompts',
      );
    }
    numPrompts = 1000; // vLLM's default
  }
  if (dataset.name === 'multi-round' && (f.requestRate !== undefined || f.maxConcurrency !== undefined)) {
    throw badOption(
      f.requestRate !== undefined ? '--request-rate' : '--max-concurrency',
      'does not apply to multi-round: its load is --qps over --num-users conversations',
    );
  }
  if (
    dataset.name !== 'multi-round' &&
    numPrompts === undefined &&
    !Number.isFinite(requestRate) &&
    maxConcurrency === undefined
  ) {
    throw badOption(
      '--request-rate',
      'inf with only --duration would send without limit: add --num-prompts or --max-concurrency',
    );
  }

  const slo = f.goodput !== undefined ? parseSlo(f.goodput) : undefined;
  if (slo && 'error' in slo) throw badOption('--goodput', slo.error);

  const tablePercentiles = list(f.metricPercentiles ?? '99').map((p) => {
    const v = number('--metric-percentiles', p, { min: 0, max: 100 });
    return v!;
  });
  const percentileMetrics = list(f.percentileMetrics ?? 'ttft,tpot,itl').map(
    (m) => oneOf('--percentile-metrics', m, PERCENTILE_METRICS)!,
  );

  // `URL` applies to every target; `NAME=URL` only to the target of that name.
  const scrapeUrls: string[] = [];
  for (const entry of list(f.scrapeMetrics)) {
    const eq = entry.indexOf('=');
    const name = eq > 0 && !entry.slice(0, eq).includes('/') ? entry.slice(0, eq) : undefined;
    if (name === undefined) {
      scrapeUrls.push(checkUrl('--scrape-metrics', entry));
      continue;
    }
    const target = targets.find((t) => t.name === name);
    if (!target)
      throw badOption(
        '--scrape-metrics',
        `names target "${name}", which is not one of ${targets.map((t) => t.name).join(', ')}`,
      );
    target.scrapeUrls = [...(target.scrapeUrls ?? []), checkUrl('--scrape-metrics', entry.slice(eq + 1))];
  }
  for (const t of targets) if (t.scrapeUrls) t.scrapeUrls = [...scrapeUrls, ...t.scrapeUrls];
  // The gateway's admin port per target (`URL` for every target, `NAME=URL` for one): its live page.
  for (const entry of list(f.gatewayAdmin)) {
    const eq = entry.indexOf('=');
    const name = eq > 0 && !entry.slice(0, eq).includes('/') ? entry.slice(0, eq) : undefined;
    const url = checkUrl('--gateway-admin', name === undefined ? entry : entry.slice(eq + 1)).replace(
      /\/+$/,
      '',
    );
    const chosen = name === undefined ? targets : targets.filter((t) => t.name === name);
    if (chosen.length === 0)
      throw badOption(
        '--gateway-admin',
        `names target "${name}", which is not one of ${targets.map((t) => t.name).join(', ')}`,
      );
    for (const t of chosen) t.adminUrl = url;
  }
  const options = {
    targets,
    endpoint,
    model,
    dataset,
    modelMix,
    objectiveMix,
    ignoreEos: f.ignoreEos ?? true,
    initialTest: f.initialTest ?? true,
    seed: int('--seed', f.seed, 0) ?? 0,
    load: {
      requestRate,
      maxConcurrency,
      numPrompts,
      durationS,
      graceS: number('--grace', f.grace, { min: 0 }),
      requestTimeoutS: number('--request-timeout', f.requestTimeout, { above: 0 }) ?? 6 * 3600,
    },
    timeScale: number('--time-scale', f.timeScale, { above: 0, max: 1000 }) ?? 1,
    goodput: slo,
    tablePercentiles,
    percentileMetrics,
    scrapeUrls,
    sampleIntervalS: number('--sample-interval', f.sampleInterval, { above: 0 }) ?? 1,
    maxConnections: int('--max-connections', f.maxConnections),
    apiKey: f.apiKey ?? env.OPENAI_API_KEY,
    progress: oneOf('--progress', f.progress, PROGRESS_MODES) ?? 'auto',
    saveDetailed: f.saveDetailed === true,
  };
  return { options, outputs: { json: f.json, html: f.html } };
}

/** Throws when no model is known. */
export function requireModel(model: string | undefined, url: string): string {
  if (model === undefined) {
    throw new BenchError(
      'BAD_OPTION',
      `--model is required: GET ${url}/v1/models did not name one`,
      '--model',
    );
  }
  return model;
}
