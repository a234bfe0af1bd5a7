/**
 * Runs a scenario: for each target, start the simulator (fresh KV caches) and the gateway on the
 * scenario's manifests plus the simulator's Pods, run the workload through the target's listener,
 * stop both; then print our figures beside the document's (or against the issue's goals) and write
 * the reports. Children are stopped on success, on failure and on Ctrl-C; their logs go to a
 * temporary folder that is removed after a clean run and kept (and printed) otherwise.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlan } from '../../config/index.js';
import type { ServiceLbPolicy } from '../../config/plan.js';
import { validatePickerConfig } from '../../scheduling/index.js';
import { BUILT_IN_PICKER_CONFIGS } from '../../scheduling/profiles.js';
import {
  type BenchReport,
  type BuiltWorkload,
  buildWorkload,
  runTarget,
  SIM_BEHIND_WARNING,
  type TargetResult,
} from '../bench.js';
import { BenchError, badOption } from '../errors.js';
import { type BenchFlags, optionsFromFlags } from '../flags.js';
import type { BenchOptions } from '../options.js';
import { type CommandIo, writeReports } from '../output.js';
import {
  describePeer,
  peerAvailability,
  SGLANG_ROUTER_POLICIES,
  type SglangRouterPolicy,
  startPeer,
} from '../peers/index.js';
import { type FigureValues, figureValues, ratio } from '../report/figures.js';
import { comparisonTable, extrasTable, servingTable } from '../report/table.js';
import { type FloorOf, parseAccessLog, requestEvidence, tailEvidence } from '../tail.js';
import { floorEvidence, floorOptionsForSim, IdleReplicaTtft } from '../ttft-floor.js';
import { envoyAvailability, type RunningEnvoyFront, startEnvoyFront } from './envoy-front.js';
import { ChildCli } from './processes.js';
import type { ScenarioDefinition, ScenarioGoal, ScenarioRun, ScenarioTarget } from './types.js';

/** The repository (or installed package) root: examples/ lives there. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The gateway scrapes every replica every 50 ms of real time. A simulator at time scale s runs 1/s
 * faster, so the scrape interval is scaled the same way — 50 ms × s — floored at MIN: below that,
 * scraping five replicas costs the shared cores more than the finer view is worth.
 */
export const REAL_SCRAPE_INTERVAL_MS = 50;
export const MIN_SCRAPE_INTERVAL_MS = 5;

export function scaledScrapeIntervalMs(timeScale: number): number {
  return Math.max(MIN_SCRAPE_INTERVAL_MS, Math.round(REAL_SCRAPE_INTERVAL_MS * timeScale * 100) / 100);
}

/** How long a child may take to print its ready lines (tsx compiles on a cold start). */
const READY_TIMEOUT_MS = 60_000;

export interface ScenarioRunOptions {
  quick: boolean;
  /** The command line's own flags: outputs, progress and the overrides planScenario accepts. */
  flags: BenchFlags;
  io: CommandIo;
  version: string;
  signal?: AbortSignal | undefined;
  /** Manifests added to every target's gateway (e.g. an EndpointPickerConfig to try). */
  extraManifests?: readonly string[] | undefined;
}

/** A scenario with the command line's overrides applied: what will be started and sent. */
export interface ScenarioPlan {
  def: ScenarioDefinition;
  quick: boolean;
  run: ScenarioRun;
  /** The targets to run, in order (the first is the baseline), `--strategy` applied. */
  targets: ScenarioTarget[];
  options: Omit<BenchOptions, 'targets'>;
  scrapeIntervalMs: number;
  /** Absolute paths of manifests added to every target's gateway. */
  extraManifests: readonly string[];
}

/** Flags that make sense with --scenario; the scenario defines everything else. */
const SCENARIO_FLAGS: ReadonlySet<string> = new Set([
  'scenario',
  'quick',
  'full',
  'dryRun',
  'listScenarios',
  'strategy',
  'timeScale',
  'seed',
  'numPrompts',
  'duration',
  'time',
  'json',
  'html',
  'progress',
  'saveDetailed',
  'initialTest',
  'simArg',
]);

const SERVICE_LB: readonly ServiceLbPolicy[] = ['least-request', 'round-robin', 'random'];
const SCHEDULERS: readonly string[] = ['config', ...BUILT_IN_PICKER_CONFIGS.keys(), 'interim'];

function kebab(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `--strategy a,b=prefix-cache`: the targets to run, each optionally with its policy. */
function selectTargets(def: ScenarioDefinition, spec: string | undefined): ScenarioTarget[] {
  if (spec === undefined) return [...def.targets];
  const names = def.targets.map((t) => t.name);
  const chosen = new Map<string, string | undefined>();
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if (!names.includes(name))
      throw badOption(
        '--strategy',
        `names "${name}", which is not a target of ${def.name} (${names.join(', ')})`,
      );
    chosen.set(name, eq < 0 ? undefined : item.slice(eq + 1));
  }
  if (chosen.size === 0)
    throw badOption('--strategy', `must name targets of ${def.name}: ${names.join(', ')}`);
  const out: ScenarioTarget[] = [];
  for (const t of def.targets) {
    if (!chosen.has(t.name)) continue;
    const policy = chosen.get(t.name);
    if (policy === undefined) out.push(t);
    else if (t.peer !== undefined) {
      if (!(SGLANG_ROUTER_POLICIES as readonly string[]).includes(policy))
        throw badOption(
          '--strategy',
          `${t.name}=${policy}: the peer's policy must be one of ${SGLANG_ROUTER_POLICIES.join(', ')}`,
        );
      const peer = { ...t.peer, policy: policy as SglangRouterPolicy };
      out.push({ ...t, peer, description: `${t.description} — policy ${policy}` });
    } else if (t.scheduler !== undefined) {
      if (!SCHEDULERS.includes(policy))
        throw badOption(
          '--strategy',
          `${t.name}=${policy}: the scheduler must be one of ${SCHEDULERS.join(', ')}`,
        );
      out.push({ ...t, scheduler: policy, description: `${t.description} — scheduler ${policy}` });
    } else {
      if (!SERVICE_LB.includes(policy as ServiceLbPolicy))
        throw badOption(
          '--strategy',
          `${t.name}=${policy}: a Service route balances by ${SERVICE_LB.join(', ')}`,
        );
      out.push({ ...t, serviceLb: policy as ServiceLbPolicy, description: `${t.description} — ${policy}` });
    }
  }
  return out;
}

/** A preset's notes name its own time scale; under `--time-scale` they name the one that ran. */
export function restateTimeScale(
  deviations: readonly string[],
  preset: number,
  actual: number,
): readonly string[] {
  if (actual === preset) return deviations;
  const said = `time scale ${preset}`;
  return deviations.map((d) =>
    d.split(said).join(`time scale ${actual} (--time-scale; the preset's is ${preset})`),
  );
}

/** Applies the command line's overrides to a scenario; throws BAD_OPTION for flags it defines itself. */
export function planScenario(
  def: ScenarioDefinition,
  quick: boolean,
  flags: BenchFlags,
  extraManifests: readonly string[] = [],
): ScenarioPlan {
  for (const [key, value] of Object.entries(flags)) {
    // commander sets ignoreEos=true unless --no-ignore-eos is given.
    if (value === undefined || (key === 'ignoreEos' && value === true)) continue;
    if (!SCENARIO_FLAGS.has(key)) {
      throw badOption(
        kebab(key),
        'does not apply with --scenario (the scenario defines its workload and targets)',
      );
    }
  }
  if (flags.full === true && quick) throw badOption('--full', 'and --quick exclude each other');
  let base = quick ? def.quick : def.full;
  if (flags.full === true) {
    if (!def.documentSize)
      throw badOption('--full', `${def.name} has no larger form: its default run is the source's size`);
    base = def.documentSize;
  }
  const bench: BenchFlags = { ...base.bench };
  if (flags.numPrompts !== undefined) bench.numPrompts = flags.numPrompts;
  if (flags.duration !== undefined || flags.time !== undefined) {
    delete bench.duration;
    delete bench.time;
    if (flags.duration !== undefined) bench.duration = flags.duration;
    if (flags.time !== undefined) bench.time = flags.time;
  }
  if (flags.seed !== undefined) bench.seed = flags.seed;
  const timeScaleFlag = flags.timeScale ?? String(base.sim.timeScale);
  const { options } = optionsFromFlags({
    ...bench,
    // A placeholder target for validation; the real one is the gateway's listener.
    url: 'http://127.0.0.1:1',
    timeScale: timeScaleFlag,
    progress: flags.progress,
    saveDetailed: flags.saveDetailed,
    initialTest: flags.initialTest,
  });
  const { targets: _unused, model, ...rest } = options;
  const run: ScenarioRun = {
    ...base,
    bench,
    sim: {
      ...base.sim,
      timeScale: options.timeScale,
      extraArgs: [...base.sim.extraArgs, ...(flags.simArg ?? [])],
    },
    deviations: restateTimeScale(base.deviations, base.sim.timeScale, options.timeScale),
  };
  return {
    def,
    quick,
    run,
    targets: selectTargets(def, flags.strategy),
    options: { ...rest, model: model ?? base.sim.servedModelName },
    scrapeIntervalMs: scaledScrapeIntervalMs(options.timeScale),
    extraManifests: extraManifests.map((m) => resolve(m)),
  };
}

/** `infergate sim` arguments. */
export function simArgs(run: ScenarioRun, podsFile: string): string[] {
  const s = run.sim;
  return [
    'sim',
    '--replicas',
    String(s.replicas),
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--profile',
    s.profile,
    '--time-scale',
    String(s.timeScale),
    '--seed',
    String(s.seed),
    '--served-model-name',
    s.servedModelName,
    s.spinWait ? '--spin-wait' : '--no-spin-wait',
    // usage.prompt_tokens_details.cached_tokens: each request's own first-lookup hit.
    '--enable-prompt-tokens-details',
    '--emit-pods',
    podsFile,
    '--pod-labels',
    s.podLabels,
    ...s.extraArgs,
  ];
}

/** The picking flags `serve` and `epp` share: seed and scrape interval (the scheduler comes last). */
function pickingFlags(plan: ScenarioPlan): string[] {
  return ['--seed', String(plan.run.sim.seed), '--scrape-interval', `${plan.scrapeIntervalMs}ms`];
}

function schedulerFlag(target: ScenarioTarget): string[] {
  return ['--scheduler', target.scheduler ?? 'config'];
}

/** `infergate serve` flags besides the manifests and the port map. */
export function serveFlags(plan: ScenarioPlan, target: ScenarioTarget): string[] {
  return [
    '--host',
    '127.0.0.1',
    '--admin-port',
    '0',
    '--no-watch',
    '--drain-timeout',
    '1s',
    ...pickingFlags(plan),
    '--service-lb',
    target.serviceLb ?? 'least-request',
    ...schedulerFlag(target),
  ];
}

function manifestsOf(def: ScenarioDefinition, target: ScenarioTarget): string[] {
  const files = (target.manifests ?? def.manifests).map((m) => resolve(PACKAGE_ROOT, m));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new BenchError('SCENARIO_FAILED', `${def.name}: manifests not found: ${missing.join(', ')}`);
  }
  return files;
}

/**
 * `--port-map` sending every listener the manifests declare to an OS-chosen port (a declared port
 * left alone might be taken, or privileged), after checking that the target's listener exists.
 */
async function portMapFor(files: readonly string[], target: ScenarioTarget): Promise<string> {
  const loaded = await loadPlan(files, { validatePickerConfig });
  if (!loaded.plan) {
    const first = loaded.diagnostics.find((d) => d.severity === 'error');
    throw new BenchError(
      'SCENARIO_FAILED',
      `the scenario's manifests do not load: ${first?.message ?? 'error'}`,
    );
  }
  const listeners = loaded.plan.listeners;
  if (!listeners.some((l) => l.key === target.listener)) {
    throw new BenchError(
      'SCENARIO_FAILED',
      `target ${target.name}: no listener ${target.listener} (have ${listeners.map((l) => l.key).join(', ')})`,
    );
  }
  return [...new Set(listeners.map((l) => l.port))].map((p) => `${p}=0`).join(',');
}

/** Request ids the scenarios send (`bench-<index>`), to join the access log with the records. */
const REQUEST_ID_PREFIX = 'bench-';

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Lines of the simulator's log that say it fell behind its schedule. */
function fallingBehindLines(logFile: string): string[] {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.includes('falling behind'));
}

/**
 * The worst numbers the simulator's "falling behind" log lines carry (JSON fields such as
 * `stretch`, `eventLoopLagP99Ms`, `cpuPercent`; whichever are present), for the warning.
 */
export function behindSummary(lines: readonly string[]): string {
  const worst = new Map<string, number>();
  for (const l of lines) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(l) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const key of BEHIND_FIELDS) {
      const v = o[key];
      if (typeof v === 'number' && Number.isFinite(v)) worst.set(key, Math.max(worst.get(key) ?? v, v));
    }
  }
  const parts: string[] = [];
  const stretch = worst.get('stretch');
  if (stretch !== undefined) parts.push(`engine time stretched up to ${stretch}×`);
  const late = worst.get('maxFirstTokenErrorMs');
  if (late !== undefined) parts.push(`first tokens up to ${late} ms late (wall)`);
  const lag = worst.get('eventLoopLagP99Ms');
  if (lag !== undefined) parts.push(`its event-loop lag p99 up to ${lag} ms (wall)`);
  const cpu = worst.get('cpuPercent');
  if (cpu !== undefined) parts.push(`its CPU ≤ ${cpu} %`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

const BEHIND_FIELDS = ['stretch', 'maxFirstTokenErrorMs', 'eventLoopLagP99Ms', 'cpuPercent'] as const;

/**
 * Starts sim + gateway (or the target's peer router) for one target, runs the workload through it,
 * stops both.
 */
async function runOneTarget(
  plan: ScenarioPlan,
  target: ScenarioTarget,
  workload: BuiltWorkload,
  dir: string,
  opts: ScenarioRunOptions,
  /** The peer router's program, or Envoy's for an `eppPool` target. */
  peerProgram: string | undefined,
): Promise<TargetResult> {
  const def = plan.def;
  const podsFile = join(dir, `${target.name}.pods.yaml`);
  const overlayFiles = def.overlays.map((o) => {
    const f = join(dir, o.name);
    writeFileSync(f, o.yaml);
    return f;
  });
  const peer = target.peer;
  const manifests = peer ? [] : [...manifestsOf(def, target), ...overlayFiles, ...plan.extraManifests];
  const portMap = peer ? '' : await portMapFor(manifests, target);
  const simLog = join(dir, `${target.name}.sim.log`);
  let sim: ChildCli | undefined;
  let gateway: ChildCli | undefined;
  let envoyFront: RunningEnvoyFront | undefined;
  let result: TargetResult;
  try {
    const s = plan.run.sim;
    opts.io.stderr.write(
      `${def.name} ${target.name}: starting ${s.replicas} simulated replicas and ${peer ? describePeer(peer) : target.eppPool ? 'Envoy + infergate epp' : 'the gateway'}\n`,
    );
    sim = new ChildCli('infergate sim', simArgs(plan.run, podsFile), simLog);
    await sim.waitForLine(/^sim ready \d+ replicas/, READY_TIMEOUT_MS, opts.signal);
    const replicaUrls = sim
      .lines()
      .map((l) => l.match(/^replica \d+ ready (\S+)/)?.[1])
      .filter((u): u is string => u !== undefined);
    let frontUrl: string;
    let adminUrl: string | undefined;
    if (peer) {
      const started = await startPeer(peer, {
        program: peerProgram!,
        workerUrls: replicaUrls,
        logFile: join(dir, `${target.name}.peer.log`),
        readyTimeoutMs: READY_TIMEOUT_MS,
        signal: opts.signal,
      });
      gateway = started.child;
      frontUrl = started.url;
    } else if (target.eppPool !== undefined) {
      envoyFront = await startEnvoyFront({
        envoy: peerProgram!,
        files: [...manifests, podsFile],
        pool: target.eppPool,
        declaredPort: target.declaredPort,
        declaredPorts: portMap.split(',').map((p) => Number(p.split('=')[0])),
        eppFlags: [...pickingFlags(plan), ...schedulerFlag(target)],
        logPrefix: join(dir, target.name),
        readyTimeoutMs: READY_TIMEOUT_MS,
        signal: opts.signal,
      });
      gateway = envoyFront.epp;
      frontUrl = envoyFront.url;
    } else {
      const files = [...manifests, podsFile].flatMap((f) => ['-f', f]);
      gateway = new ChildCli(
        'infergate serve',
        [
          'serve',
          ...files,
          '--port-map',
          portMap,
          ...serveFlags(plan, target),
          '--access-log',
          join(dir, `${target.name}.access.log`),
        ],
        join(dir, `${target.name}.serve.log`),
      );
      const escaped = target.listener.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const listener = await gateway.waitForLine(
        new RegExp(`^listener ${escaped} ready (\\S+)`),
        READY_TIMEOUT_MS,
        opts.signal,
      );
      const admin = await gateway.waitForLine(/^admin ready (\S+)/, READY_TIMEOUT_MS, opts.signal);
      frontUrl = listener[1]!;
      adminUrl = admin[1];
    }
    // Start-up (tsx compiling, manifests loading) is not part of the run.
    const simCpuAtStart = sim.cpuSeconds() ?? 0;
    const gatewayCpuAtStart = gateway.cpuSeconds() ?? 0;
    const envoyCpuAtStart = envoyFront?.envoy.cpuSeconds() ?? 0;
    result = await runTarget(
      { ...plan.options, targets: [] },
      {
        name: target.name,
        url: frontUrl,
        scrapeUrls: replicaUrls,
        headers: target.headers,
        adminUrl,
        requestIdPrefix: REQUEST_ID_PREFIX,
      },
      { workload, progressStream: opts.io.stderr, idealPrefix: true },
    );
    const simCpu = sim.cpuSeconds();
    const gatewayCpu = gateway.cpuSeconds();
    if (simCpu !== undefined && gatewayCpu !== undefined) {
      const wallS = result.metrics.durationS * plan.options.timeScale;
      const cs = (v: number): number => Math.round(v * 100) / 100;
      result.processCpuS = {
        sim: cs(simCpu - simCpuAtStart),
        [peer ? 'router' : envoyFront ? 'epp' : 'gateway']: cs(gatewayCpu - gatewayCpuAtStart),
        ...(envoyFront ? { envoy: cs((envoyFront.envoy.cpuSeconds() ?? 0) - envoyCpuAtStart) } : {}),
        generator: cs((result.generator.lag.cpuPercent / 100) * wallS),
        wall: cs(wallS),
      };
    }
    if (!sim.running) result.warnings.push('the simulator exited during the run (see its log)');
    if (!gateway.running)
      result.warnings.push(`${peer ? 'the peer router' : 'the gateway'} exited during the run (see its log)`);
    if (envoyFront && !envoyFront.envoy.running)
      result.warnings.push('envoy exited during the run (see its log)');
  } finally {
    await envoyFront?.envoy.stop();
    await gateway?.stop();
    await sim?.stop();
  }
  // Read once the gateway has stopped: its access log is complete (the picker writes none).
  const accessLog = peer || envoyFront ? undefined : readText(join(dir, `${target.name}.access.log`));
  // The TTFT floor (ttft-floor.ts) of the stream this target was sent, on the simulator's engine.
  const hits = result.idealPrefixCache?.hitsByIndex;
  const floorOptions = floorOptionsForSim(plan.run.sim.profile, plan.run.sim.extraArgs);
  const idle = hits && floorOptions ? new IdleReplicaTtft(floorOptions) : undefined;
  if (hits && idle) result.floor = floorEvidence(result.records, hits, plan.options.timeScale, idle);
  const floorOf: FloorOf | undefined =
    hits && idle
      ? (r) => {
          const reusable = hits.get(r.index);
          return reusable === undefined || r.promptTokens < 1
            ? undefined
            : { reusableTokens: reusable, floorMs: idle.ttftMs(r.promptTokens, reusable) };
        }
      : undefined;
  const gatewayLines = accessLog === undefined ? undefined : parseAccessLog(accessLog);
  result.tail = tailEvidence(
    result.records,
    plan.options.timeScale,
    gatewayLines,
    REQUEST_ID_PREFIX,
    floorOf,
  );
  if (plan.options.saveDetailed)
    result.requestEvidence = requestEvidence(result.records, gatewayLines, REQUEST_ID_PREFIX, floorOf);
  // Read once the simulator has stopped: its log is complete.
  const behind = fallingBehindLines(simLog);
  if (behind.length > 0) {
    // The log says more than the sampled sim_falling_behind flag: one warning, with its numbers.
    result.warnings = result.warnings.filter((w) => !w.startsWith(SIM_BEHIND_WARNING));
    result.warnings.push(
      `the simulator logged ${behind.length} "falling behind" warning(s)${behindSummary(behind)}: its latencies are overstated; use a larger time scale or a quieter machine`,
    );
  }
  return result;
}

/** Goal verdicts per non-baseline target. */
export interface GoalCheck {
  goal: ScenarioGoal;
  target: string;
  /** The ratio checked (null when a figure is missing). */
  value: number | null;
  met: boolean;
}

/**
 * Issue-5 style goals: ratios against the baseline (or the goal's `against` target), or the hit rate
 * against the ideal bound. A goal whose reference target did not run (a skipped peer) is not checked.
 */
export function checkGoals(goals: readonly ScenarioGoal[], results: readonly TargetResult[]): GoalCheck[] {
  const base = results[0];
  if (!base) return [];
  const out: GoalCheck[] = [];
  for (const r of results) {
    const v = figureValues(r);
    for (const goal of goals) {
      const ref: TargetResult | undefined =
        goal.against === undefined ? base : results.find((x) => x.name === goal.against);
      if (!ref || ref === r) continue;
      if (goal.targets !== undefined && !goal.targets.includes(r.name)) continue;
      if (goal.targets === undefined && goal.against !== undefined && r === base) continue;
      const value =
        goal.key === 'prefix_cache_vs_ideal'
          ? (v[goal.key] ?? null)
          : ratio(v[goal.key], figureValues(ref)[goal.key]);
      const slack = goal.tolerance ?? 0;
      const met =
        value !== null &&
        (goal.kind === 'at-most' ? value <= goal.value * (1 + slack) : value >= goal.value * (1 - slack));
      out.push({ goal, target: r.name, value, met });
    }
  }
  return out;
}

function goalsTable(checks: readonly GoalCheck[], baseline: string): string {
  if (checks.length === 0) return '';
  const targets = [...new Set(checks.map((c) => c.target))];
  const goals = [...new Set(checks.map((c) => c.goal))];
  const head = ['goal', ...targets];
  const rows = goals.map((g) => [
    `${g.label} ${g.kind === 'at-most' ? '≤' : '≥'} ${g.value}${g.key === 'prefix_cache_vs_ideal' ? '' : '×'}${g.against ? ` of ${g.against}` : ''}${g.tolerance ? ` (±${g.tolerance * 100} %)` : ''}`,
    ...targets.map((t) => {
      const c = checks.find((x) => x.goal === g && x.target === t);
      if (!c) return '-';
      return `${c.value === null ? '-' : `${c.value.toFixed(2)}${g.key === 'prefix_cache_vs_ideal' ? '' : 'x'}`} ${c.met ? 'met' : 'MISSED'}`;
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const render = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `Goals (ratios against ${baseline} unless the goal names another target):`,
    render(head),
    ...rows.map(render),
  ].join('\n');
}

/** Text of the document columns for the comparison table. */
function documentColumns(plan: ScenarioPlan): { name: string; values: FigureValues }[] | undefined {
  const numbers = plan.def.documentNumbers;
  if (!numbers) return undefined;
  const cols: { name: string; values: FigureValues }[] = [];
  for (const t of plan.targets) {
    const column = t.documentColumn;
    const values = column ? numbers[column] : undefined;
    if (column && values) cols.push({ name: `doc ${column}`, values });
  }
  return cols.length > 0 ? cols : undefined;
}

/** The scenario block of the JSON report. */
function scenarioJson(
  plan: ScenarioPlan,
  checks: readonly GoalCheck[],
  logDir: string | undefined,
  skipped: readonly { target: string; why: string }[],
): Record<string, unknown> {
  const def = plan.def;
  return {
    name: def.name,
    peers: plan.targets.filter((t) => t.peer).map((t) => ({ target: t.name, router: describePeer(t.peer!) })),
    skipped,
    title: def.title,
    quick: plan.quick,
    document: def.document,
    time_scale: plan.run.sim.timeScale,
    gateway_scrape_interval_ms: plan.scrapeIntervalMs,
    sim_args: simArgs(plan.run, '<pods.yaml>'),
    targets: plan.targets.map((t) => ({
      name: t.name,
      description: t.description,
      listener: t.listener,
      declared_port: t.declaredPort,
      manifests: t.manifests ?? def.manifests,
      serve_args: serveFlags(plan, t),
      ...(t.headers ? { headers: t.headers } : {}),
      document_column: t.documentColumn ?? null,
    })),
    overlays: def.overlays.map((o) => o.name),
    extra_manifests: plan.extraManifests,
    document_numbers: def.documentNumbers ?? null,
    document_says: def.documentSays,
    goals: checks.map((c) => ({
      target: c.target,
      against: c.goal.against ?? plan.targets[0]?.name ?? null,
      key: c.goal.key,
      kind: c.goal.kind,
      value: c.goal.value,
      measured: c.value,
      met: c.met,
    })),
    deviations: plan.run.deviations,
    notes: def.notes,
    ...(logDir ? { log_dir: logDir } : {}),
  };
}

function header(plan: ScenarioPlan): string {
  const def = plan.def;
  const lines = [
    `${def.name}${plan.quick ? ' (quick)' : ''}: ${def.title}`,
    `  targets: ${plan.targets.map((t) => t.name).join(', ')} (baseline ${plan.targets[0]?.name}); time scale ${plan.run.sim.timeScale}, gateway scrape interval ${plan.scrapeIntervalMs} ms wall`,
  ];
  if (plan.quick)
    lines.push(
      '  note: quick form — fewer requests, numbers are indicative; run without --quick for the figures',
    );
  for (const d of plan.run.deviations) lines.push(`  note: ${d}`);
  return `${lines.join('\n')}\n`;
}

/** What a scenario run produced (bench/quality.ts reads the report and the goal checks). */
export interface ScenarioOutcome {
  /** 0: every target served requests; 1: a target served none; 130: interrupted. */
  code: number;
  plan: ScenarioPlan;
  /** Undefined when no target finished. */
  report: BenchReport | undefined;
  checks: GoalCheck[];
  /** Peer targets left out because their program is not installed, with the reason. */
  skipped: { target: string; why: string }[];
}

/** Runs a scenario for the CLI: prints, writes the reports, returns the exit code. */
export async function runScenario(def: ScenarioDefinition, opts: ScenarioRunOptions): Promise<number> {
  return (await executeScenario(def, opts)).code;
}

/**
 * Runs a scenario: every target in turn on fresh children, tables on stdout, reports written.
 * Throws SCENARIO_FAILED when a child does not start (after stopping everything and printing
 * where the logs are).
 */
export async function executeScenario(
  def: ScenarioDefinition,
  opts: ScenarioRunOptions,
): Promise<ScenarioOutcome> {
  const plan = planScenario(def, opts.quick, opts.flags, opts.extraManifests);
  const io = opts.io;
  const options = { ...plan.options, signal: opts.signal };
  const tableOpts = {
    percentileMetrics: options.percentileMetrics,
    percentiles: options.tablePercentiles,
    goodput: false,
  };
  io.stderr.write(header(plan));
  const dir = mkdtempSync(join(tmpdir(), `infergate-${def.name}-`));
  const startedAt = new Date().toISOString();
  const workload = buildWorkload({ ...options, targets: [] });
  const results: TargetResult[] = [];
  let failure: unknown;
  const skipped: { target: string; why: string }[] = [];
  for (const target of plan.targets) {
    if (opts.signal?.aborted) break;
    let program: string | undefined;
    if (target.peer) {
      const avail = peerAvailability(target.peer);
      if (!avail.ok) {
        // A missing peer is reported and left out; the other targets still run.
        io.stderr.write(`${def.name} ${target.name}: skipped — ${avail.why}\n`);
        skipped.push({ target: target.name, why: avail.why });
        continue;
      }
      program = avail.program;
    } else if (target.eppPool !== undefined) {
      const avail = envoyAvailability();
      if (!avail.ok) {
        io.stderr.write(`${def.name} ${target.name}: skipped — ${avail.why}\n`);
        skipped.push({ target: target.name, why: avail.why });
        continue;
      }
      program = avail.program;
    }
    try {
      const result = await runOneTarget({ ...plan, options }, target, workload, dir, opts, program);
      results.push(result);
      io.stdout.write(
        `\nTarget ${result.name}: ${target.description}\n${servingTable(result.metrics, tableOpts)}\n${extrasTable(result)}\n`,
      );
    } catch (err) {
      failure = err;
      break;
    }
  }
  const interrupted = opts.signal?.aborted === true;
  const troubled = failure !== undefined || interrupted || results.some((r) => r.warnings.length > 0);
  const logDir = troubled ? dir : undefined;
  const checks = checkGoals(def.goals ?? [], results);
  let report: BenchReport | undefined;
  if (results.length > 0) {
    const title = `${def.name}${plan.quick ? ' (quick)' : ''}`;
    const references = documentColumns(plan);
    const table = comparisonTable(results, {
      ...tableOpts,
      title,
      references,
      referenceTitle: `document ${def.document.file}`,
    });
    io.stdout.write(`\n${table}\n`);
    io.stdout.write(
      `${def.documentNumbers ? 'The document' : 'The source'} (${def.document.file}): ${def.documentSays}\n`,
    );
    const goals = goalsTable(checks, results[0]!.name);
    if (goals) io.stdout.write(`\n${goals}\n`);
    io.stdout.write(`\n${checksSummary(results)}\n`);
    if (plan.quick)
      io.stdout.write('Quick form: fewer requests than the full run; the numbers are indicative.\n');
    report = {
      startedAt,
      options: { ...options, targets: results.map((r) => ({ name: r.name, url: r.url })) },
      workload: { scenario: def.name, quick: plan.quick, ...workload.describe() },
      targets: results,
      scenario: scenarioJson(plan, checks, logDir, skipped),
    };
    writeReports(
      report,
      io,
      { json: opts.flags.json, html: opts.flags.html },
      opts.version,
      `${table}\n\n${def.documentSays}\n\n${[...plan.run.deviations, ...def.notes].join('\n')}`,
    );
  }
  if (logDir) io.stderr.write(`logs of the simulator and the gateway: ${logDir}\n`);
  else rmSync(dir, { recursive: true, force: true });
  // An interrupt while a child was starting surfaces as an error: it is the interrupt that counts.
  if (failure !== undefined && !interrupted) throw failure;
  const complete =
    results.length + skipped.length === plan.targets.length && results.every((r) => r.metrics.completed > 0);
  for (const s of skipped) io.stdout.write(`Skipped target ${s.target}: ${s.why}\n`);
  return { code: interrupted ? 130 : complete ? 0 : 1, plan, report, checks, skipped };
}

/** One line on whether the run's own measurements can be trusted. */
function checksSummary(results: readonly TargetResult[]): string {
  const lag = results.map((r) => `${r.name} ${r.generator.lag.p99Ms.toFixed(2)} ms`).join(', ');
  const warned = results.filter((r) => r.warnings.length > 0).map((r) => r.name);
  return warned.length === 0
    ? `Checks: no warnings — load generator event-loop lag p99 ${lag}; the simulators kept to their schedule.`
    : `Checks: WARNINGS for ${warned.join(', ')} (see each target above) — load generator event-loop lag p99 ${lag}.`;
}
