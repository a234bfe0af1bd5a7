/**
 * Heap retention for tests: how many bytes stay reachable after a cache kept something derived from
 * each of several large texts. Exposes V8's gc at run time (no node flag needed).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Heap bytes still reachable after `keep(text, i)` was called for `count` fresh texts of ≈ 1 MiB
 * (what `keep` returns is held too, as a cache would hold it).
 */
export function retainedBytes(count: number, keep: (text: string, i: number) => unknown): number {
  const kept: unknown[] = [];
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) kept.push(keep(`${i}:${'x'.repeat(1 << 20)}`, i));
  gc();
  const after = process.memoryUsage().heapUsed;
  if (kept.length !== count) throw new Error('lost results');
  return after - before;
}
