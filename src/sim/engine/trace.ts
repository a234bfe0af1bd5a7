/**
 * The simulator's `--trace FILE`: the engines' history as JSON lines, for offline analysis of what
 * happened inside each replica (docs/simulator.md, "Trace"). Times are engine seconds since the
 * replica started (replicas of one process start together); one line per finished request and one
 * sample of every replica's queues per SAMPLE_MS of engine time:
 *
 *   {"k":"s","r":0,"t":12.5,"run":11,"wait":2,"swap":0,"kv":0.83,"pre":1,"steps":210,"pfSteps":31,"pfS":9.2}
 *   {"k":"r","r":0,"id":"cmpl-…","arr":3.1,"q":3.115,"sch":3.9,"ft":5.2,"fin":80.4,"p":3400,"o":1200,"pre":0}
 *
 * `pre` in a sample is the replica's preemptions so far; `pfSteps`/`pfS` count the steps that ran
 * prefills only and the engine seconds they took (V0: every running request waited through them).
 * In a request line: `arr` arrival, `q` visible to the scheduler, `sch` first scheduled, `ft` first
 * token, `fin` finished, `p`/`o` prompt/output tokens, `pre` times preempted.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Engine, EngineObserver } from './engine.js';
import type { EngineRequest } from './request.js';
import type { Batch } from './scheduler.js';

/** Engine ms between two samples of a replica's queues. */
export const TRACE_SAMPLE_MS = 500;

const round3 = (ms: number): number => Math.round(ms) / 1000;

/** One file shared by every replica of the process; lines are buffered by the stream. */
export class TraceFile {
  private readonly out: WriteStream;

  constructor(path: string) {
    this.out = createWriteStream(path, { flags: 'w' });
  }

  write(line: string): void {
    this.out.write(line);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }

  /** An observer for replica `index`'s engine. */
  observer(index: number): EngineObserver {
    return new ReplicaTrace(this, index);
  }
}

class ReplicaTrace implements EngineObserver {
  private readonly file: TraceFile;
  private readonly index: number;
  private nextSampleMs = 0;
  private prefillSteps = 0;
  private prefillMs = 0;

  constructor(file: TraceFile, index: number) {
    this.file = file;
    this.index = index;
  }

  onStep(engine: Engine, endMs: number, batch: Batch): void {
    const c = batch.cost;
    if (c.decodeSeqs === 0 && c.prefillTokens > 0) {
      this.prefillSteps++;
      this.prefillMs += endMs - engine.stepStartMs;
    }
    if (endMs < this.nextSampleMs) return;
    this.nextSampleMs = endMs + TRACE_SAMPLE_MS;
    this.file.write(
      `{"k":"s","r":${this.index},"t":${round3(endMs)},"run":${engine.numRunning},"wait":${engine.numWaiting},` +
        `"swap":${engine.numSwapped},"kv":${Math.round(engine.kvUsage() * 1000) / 1000},` +
        `"pre":${engine.metrics.preemptions},"steps":${engine.steps},"pfSteps":${this.prefillSteps},` +
        `"pfS":${round3(this.prefillMs)}}\n`,
    );
  }

  onFinish(_engine: Engine, req: EngineRequest): void {
    this.file.write(
      `{"k":"r","r":${this.index},"id":${JSON.stringify(req.id)},"arr":${round3(req.arrivalMs)},` +
        `"q":${round3(req.queuedMs)},"sch":${round3(req.firstScheduledMs)},"ft":${round3(req.firstTokenMs)},` +
        `"fin":${round3(req.finishedMs)},"p":${req.promptLen},"o":${req.numOutputTokens},"pre":${req.numPreemptions}}\n`,
    );
  }
}
