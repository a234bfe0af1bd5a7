/**
 * A scenario reproduces one comparison from the user's documents end to end: it starts simulated
 * replicas (`infergate sim`) and the gateway (`infergate serve`) on the document's own manifests,
 * runs the document's workload through each target in turn, restarting the simulator between
 * targets (fresh KV caches), and prints our table beside the document's numbers.
 */
import type { BenchFlags } from '../flags.js';
import type { FigureValues } from '../report/figures.js';

/** How the simulated replicas are started (flags of `infergate sim`). */
export interface SimSpec {
  replicas: number;
  /** Timing preset of the simulator (the document's hardware). */
  profile: string;
  /** Simulated time per wall time: 0.01 runs 100× faster than the real hardware. */
  timeScale: number;
  seed: number;
  /** Labels written on the emitted Pods, so the document's selectors find them (`app=qwq-32b`). */
  podLabels: string;
  /** `--served-model-name` of the replicas. */
  servedModelName: string;
  /** Further `infergate sim` flags in their CLI spelling (LoRA modules, max-num-seqs …). */
  extraArgs: readonly string[];
}

export interface ScenarioTarget {
  /** Column name (`standard`, `inference`). */
  name: string;
  /** Which gateway listener the workload goes through: the Plan's listenerKey. */
  listener: string;
  /** The port the document declares for it (for the printed plan). */
  declaredPort: number;
  /** Manifests served for this target, relative to the repository root (default: the scenario's). */
  manifests?: readonly string[] | undefined;
  /** Headers on every request (host-matched routes). */
  headers?: Readonly<Record<string, string>> | undefined;
  description: string;
}

/** One way to run the scenario (the document's full size, or `--quick`). */
export interface ScenarioRun {
  sim: SimSpec;
  /**
   * The workload as `infergate bench` flags (targets, scraping and outputs are filled in by the
   * runner). Lengths, rates and durations are in simulated time.
   */
  bench: BenchFlags;
  /** What differs from the document, said when the scenario runs. */
  deviations: readonly string[];
}

export interface ScenarioDefinition {
  name: string;
  title: string;
  document: {
    /** File under the shared seeds folder. */
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
  /** In order; the first is the baseline of the ratios. */
  targets: readonly ScenarioTarget[];
  full: ScenarioRun;
  quick: ScenarioRun;
  /** The document's own figures per target name, in our figure keys; undefined when it gives none. */
  documentNumbers: Readonly<Record<string, FigureValues>> | undefined;
  /** The document's result, as it words it, printed beside ours. */
  documentSays: string;
  notes: readonly string[];
}
