import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FallingBehindWarner, isFallingBehind } from './cluster.js';
import { WritePacer } from './engine/write-pacer.js';
import type { FidelityWindow } from './vllm-page/fidelity.js';

function window(over: Partial<FidelityWindow>): FidelityWindow {
  const w = { maxErrorMs: 0, maxFirstTokenErrorMs: 0, plannedMs: 1000, stallMs: 0, steps: 10, ...over };
  return { stretch: (w.plannedMs + w.stallMs) / w.plannedMs, ...w };
}

describe('isFallingBehind', () => {
  it.each([
    ['on schedule', window({}), false],
    ['stretched 10 % and 10 ms of wall time lost (scale 1)', window({ stallMs: 100 }), true],
    ['stretched 3 %: within tolerance', window({ stallMs: 30 }), false],
    ['one short stall of an almost idle replica (5 ms)', window({ plannedMs: 20, stallMs: 5 }), false],
    ['a first token written 12 ms late', window({ maxFirstTokenErrorMs: 12 }), true],
    ['other tokens late, first tokens on time (write interval)', window({ maxErrorMs: 50 }), false],
  ])('%s', (_name, w, expected) => {
    expect(isFallingBehind(w, 1, 10)).toBe(expected);
  });

  it('counts lost time in wall milliseconds: the same engine stall is small at a small scale', () => {
    const w = window({ plannedMs: 10_000, stallMs: 2000 }); // stretch 1.2
    expect(isFallingBehind(w, 1, 10)).toBe(true); // 2 s of wall time
    expect(isFallingBehind(w, 0.001, 10)).toBe(false); // 2 ms of wall time
  });
});

describe('FallingBehindWarner', () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    return { log, lines };
  }

  it('logs one summary with the numbers, then suppresses for 10 s and counts what it suppressed', () => {
    const { log, lines } = capture();
    let clock = 1_000_000;
    const warner = new FallingBehindWarner(log, () => clock);
    const pacer = new WritePacer(4);
    warner.add(0, window({ stallMs: 800 }), 0.01);
    warner.add(2, window({ stallMs: 500, maxFirstTokenErrorMs: 3 }), 0.01);
    warner.flush(pacer);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      replicas: [0, 2],
      stretch: 1.8,
      maxFirstTokenErrorMs: 3,
      writeIntervalMs: 4,
      timeScale: 0.01,
      suppressedWarnings: 0,
    });
    expect(String(lines[0]!.msg)).toMatch(/falling behind: engine time ran 1\.8× slower/);
    clock += 1000;
    warner.add(1, window({ stallMs: 300 }), 0.01);
    warner.flush(pacer);
    clock += 1000;
    warner.flush(pacer); // a window without laggards is not counted
    expect(lines).toHaveLength(1);
    clock += 9000;
    warner.add(1, window({ stallMs: 300 }), 0.01);
    warner.flush(pacer);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ replicas: [1], stretch: 1.3, suppressedWarnings: 1 });
  });
});
