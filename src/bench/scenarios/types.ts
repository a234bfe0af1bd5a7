/**
 * A scenario reproduces one comparison end to end: it starts simulated replicas (`infergate sim`)
 * and the gateway (`infergate serve`) on the user's own manifests, runs one seeded workload through
 * each target in turn, restarting both between targets (fresh KV caches), and prints our table
 * beside the document's numbers (document scenarios) or against the goals (quality
 * scenarios).
 */
import type { ServiceLbPolicy } from '../../config/plan.js';
import type { BenchFlags } from '../flags.js';
import type { PeerSpec } from '../peers/index.js';
import type { FigureValues } from '../report/figures.js';

/** How the simulated replicas are started (flags of `infergate sim`). */
export interface SimSpec {
  replicas: number;
  /** Timing preset of the simulator (the document's hardware). */
  profile: string;
  /** Wall time per simulated time: 0.05 runs 20× faster than the real hardware. */
  timeScale: number;
  seed: number;
  /** Labels written on the emitted Pods, so the document's selectors find them (`app=qwq-32b`). */
  podLabels: string;
  /** `--served-model-name` of the replicas. */
  servedModelName: string;
  /**
   * `--spin-wait` (true) or `--no-spin-wait`. Scenarios share two cores between the simulator, the
   * gateway and the load generator, so they set it explicitly (docs/benchmark.md says why).
   */
  spinWait: boolean;
  /** Further `infergate sim` flags in their CLI spelling (LoRA modules, max-model-len …). */
  extraArgs: readonly string[];
}

export interface ScenarioTarget {
  /** Column name (`standard`, `round-robin`, `inference`); `--strategy` selects targets by it. */
  name: string;
  /** Which gateway listener the workload goes through: the Plan's listenerKey. */
  listener: string;
  /** The port the document declares for it (for the printed plan). */
  declaredPort: number;
  /** Manifests served for this target, relative to the repository root (default: the scenario's). */
  manifests?: readonly string[] | undefined;
  /** Headers on every request (host-matched routes). */
  headers?: Readonly<Record<string, string>> | undefined;
  /** `serve --service-lb`: how a Service route balances (least-request, as Envoy Gateway, by default). */
  serviceLb?: ServiceLbPolicy | undefined;
  /**
   * `serve --scheduler` for InferencePool routes: `config` (the pool's own config or annotation:
   * the default), or a built-in profile (`default`, `prefix-cache` …). `--strategy NAME=PROFILE`
   * overrides it per run.
   */
  scheduler?: string | undefined;
  /** Which column of the document's numbers this target reproduces, if any. */
  documentColumn?: string | undefined;
  /**
   * A peer router (src/bench/peers/) run in front of the replicas instead of infergate's gateway;
   * `listener` and `declaredPort` are then unused. Skipped with a message when not installed.
   */
  peer?: PeerSpec | undefined;
  /**
   * Envoy in front and `infergate epp` picking for this InferencePool (`ns/name`) instead of
   * `infergate serve` (envoy-front.ts), with the same `scheduler`. Skipped with a message when Envoy
   * is not installed.
   */
  eppPool?: string | undefined;
  description: string;
}

/** One way to run the scenario (the full size, or `--quick`). */
export interface ScenarioRun {
  sim: SimSpec;
  /**
   * The workload as `infergate bench` flags (targets, scraping and outputs are filled in by the
   * runner). Lengths, rates and durations are in simulated time.
   */
  bench: BenchFlags;
  /** What differs from the document or the issue, said when the scenario runs. */
  deviations: readonly string[];
}

/** A goal on a ratio against the baseline target (issue 5's quality targets). */
export interface ScenarioGoal {
  /** A figure key (`ttft.mean`, `output_token_throughput`) or `prefix_cache_vs_ideal`. */
  key: string;
  label: string;
  /** The ratio must be ≤ (`at-most`) or ≥ (`at-least`) `value`. */
  kind: 'at-most' | 'at-least';
  value: number;
  /** The target the ratio is taken against (default: the baseline, the first target run). */
  against?: string | undefined;
  /** Only these targets are checked (default: every target but the one compared against). */
  targets?: readonly string[] | undefined;
  /**
   * Relative slack for ratios that equal runs can only meet to within measurement noise (output
   * throughput under an open-loop load is the offered load: 0.999× is "equal"). Default 0.
   */
  tolerance?: number | undefined;
}

export interface ScenarioDefinition {
  name: string;
  title: string;
  /** The user's document it reproduces, or the issue it measures. */
  document: {
    /** File under the shared seeds folder, or an issue reference. */
    file: string;
    section: string;
  };
  /** Manifests to serve, relative to the repository root (examples/seeds/ holds the documents' own). */
  manifests: readonly string[];
  /**
   * Manifests the scenario adds because the document relies on something it never shows (each
   * explained in `notes`), as YAML text written to a temporary file at run time.
   */
  overlays: readonly { name: string; yaml: string }[];
  /** In order; the first one run is the baseline of the ratios. */
  targets: readonly ScenarioTarget[];
  full: ScenarioRun;
  quick: ScenarioRun;
  /** The document's own size (`--full`), when it differs from `full`. */
  documentSize?: ScenarioRun | undefined;
  /** The document's own figures per document column, in our figure keys; undefined when it gives none. */
  documentNumbers: Readonly<Record<string, FigureValues>> | undefined;
  /** The document's result (or the goal), as it words it, printed beside ours. */
  documentSays: string;
  /** Ratio goals each non-baseline target is checked against (quality scenarios). */
  goals?: readonly ScenarioGoal[] | undefined;
  notes: readonly string[];
}
