/**
 * Micro-benchmark of the precise prefix-cache path (issue 14):
 * 1. memory of the KV-event index at 64 endpoints × 100,000 blocks each, with every block distinct
 *    (worst case) and with a shared half (each endpoint's first 50,000 blocks are a prefix all share);
 * 2. the scoring cost at 64 endpoints for an 8,000-token chat prompt: chat template + Qwen3
 *    tokenization (@huggingface/tokenizers, per-segment cache: earlier turns seen before, the last
 *    user turn new) + chained block hashing + the index lookup, p50/p99 over many requests; and the
 *    same with nothing cached in the tokenizer (a conversation seen for the first time).
 *
 *   flock -w 900 /work/bench.lock node --expose-gc --import tsx bench/kv-index-micro.ts [--out bench/results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { requestTokens } from '../src/scheduling/plugins/scorers/precise-prefix-cache-scorer.js';
import { KvBlockIndex } from '../src/scraping/kv-events/block-index.js';
import type { StoredEvent } from '../src/scraping/kv-events/decode.js';
import { hashTokenBlocks, rootHash } from '../src/scraping/kv-events/token-hash.js';
import { synthText } from '../src/sim/tokenizer.js';
import { loadTokenizer } from '../src/tokenizer/index.js';
import { SeededRng } from '../src/util/rng.js';
import { QWEN3_TOKENIZER_DIR } from '../test/helpers/tokenizers.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const outDir = resolve(
  process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1]! : 'bench/results',
);

const ENDPOINTS = 64;
const BLOCKS = 100_000;
const BS = 16;
const RUN = 500; // blocks per BlockStored event

function heapMiB(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
}

/** Fills the index: endpoint e stores BLOCKS blocks; the first `shared` of them are the same for all. */
function fill(index: KvBlockIndex, shared: number): void {
  const tokens = new Array<number>(RUN * BS);
  for (let e = 0; e < ENDPOINTS; e++) {
    let parent: number | null = null;
    for (let start = 0; start < BLOCKS; start += RUN) {
      const hashes = new Array<number>(RUN);
      for (let k = 0; k < RUN; k++) {
        const b = start + k;
        const owner = b < shared ? 0 : e + 1;
        for (let t = 0; t < BS; t++) tokens[k * BS + t] = (owner * 7919 + b * BS + t) % 151_000;
        hashes[k] = owner * 1e9 + b; // engine hashes: distinct per content
      }
      const ev: StoredEvent = {
        kind: 'stored',
        blockHashes: hashes,
        parentBlockHash: parent,
        tokenIds: tokens.slice(),
        blockSize: BS,
        loraName: null,
        medium: 'GPU',
      };
      index.stored(`10.0.0.${e}:8000`, ev);
      parent = hashes[RUN - 1]!;
    }
  }
}

function memory(shared: number): { mib: number; rows: number; bytesPerEntry: number } {
  const before = heapMiB();
  const index = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: BLOCKS });
  fill(index, shared);
  const mib = heapMiB() - before;
  const rows = index.size;
  const keep = index.blocksOf('10.0.0.0:8000'); // keeps the index alive until measured
  return { mib, rows, bytesPerEntry: (mib * 2 ** 20) / (ENDPOINTS * keep) };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function scoring() {
  const tok = loadTokenizer(QWEN3_TOKENIZER_DIR);
  const rng = new SeededRng(7);
  const system = synthText(() => rng.next(), 1500);
  const history = Array.from({ length: 10 }, () => synthText(() => rng.next(), 600));
  const index = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 1_000_000 });
  const scratch = new Float64Array(8192);
  const out = new Int32Array(ENDPOINTS);
  // endpoints hold the conversation's prefix to various depths (from their own BlockStored events)
  const base = [
    { role: 'system', content: system },
    ...history.map((h, i) => ({ role: i % 2 ? 'assistant' : 'user', content: h })),
  ];
  const baseTokens = Array.from(tok.encode(tok.renderChat(base), false));
  for (let e = 0; e < ENDPOINTS; e++) {
    const blocks = Math.floor((baseTokens.length / BS) * (e / ENDPOINTS));
    if (blocks === 0) continue;
    index.stored(`ep${e}`, {
      kind: 'stored',
      blockHashes: Array.from({ length: blocks }, (_, i) => i + 1),
      parentBlockHash: null,
      tokenIds: baseTokens.slice(0, blocks * BS),
      blockSize: BS,
      loraName: null,
      medium: 'GPU',
    });
  }
  const slots = Array.from({ length: ENDPOINTS }, (_, e) => index.slotOf(`ep${e}`));
  const one = (
    messages: { role: string; content: string }[],
  ): { ms: number; tokens: number; best: number } => {
    const t0 = performance.now();
    const tokens = requestTokens({ model: 'm', messages }, tok)!;
    const n = hashTokenBlocks(tokens, tokens.length, BS, rootHash(null), scratch);
    index.match(scratch, n, out);
    let best = 0;
    for (let e = 0; e < ENDPOINTS; e++) {
      const s = slots[e]!;
      const r = s >= 0 ? out[s]! / n : 0;
      if (r > best) best = r;
    }
    return { ms: performance.now() - t0, tokens: tokens.length, best };
  };
  // warm: the conversation's earlier turns are in the tokenizer's segment cache
  one([...base, { role: 'user', content: 'warm up' }]);
  const warm: number[] = [];
  let tokens = 0;
  let best = 0;
  for (let i = 0; i < 2000; i++) {
    const r = one([...base, { role: 'user', content: synthText(() => rng.next(), 40) }]);
    warm.push(r.ms * 1000);
    tokens = r.tokens;
    best = r.best;
  }
  const cold: number[] = [];
  for (let i = 0; i < 30; i++) {
    const fresh = [
      { role: 'system', content: synthText(() => rng.next(), 1500) },
      ...Array.from({ length: 10 }, (_, k) => ({
        role: k % 2 ? 'assistant' : 'user',
        content: synthText(() => rng.next(), 600),
      })),
    ];
    cold.push(one(fresh).ms * 1000);
  }
  return {
    prompt_tokens: tokens,
    best_match_ratio: best,
    warm_p50_us: pct(warm, 50),
    warm_p99_us: pct(warm, 99),
    cold_p50_us: pct(cold, 50),
    cold_p99_us: pct(cold, 99),
  };
}

const started = new Date().toISOString();
const load = loadavg()[0]!;
const distinct = memory(0);
const half = memory(BLOCKS / 2);
const score = scoring();
const result = {
  started_at: started,
  machine: { cpus: cpus().length, loadavg_at_start: load, shared: true },
  endpoints: ENDPOINTS,
  blocks_per_endpoint: BLOCKS,
  block_size: BS,
  memory: { distinct, half_shared: half },
  scoring: score,
};
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'kv-index-micro.json'), `${JSON.stringify(result, null, 2)}\n`);
let md = `# KV-event index micro-benchmark (issue 14)\n\nStarted ${started}; \`node --expose-gc --import tsx bench/kv-index-micro.ts\`. Machine: ${cpus().length} cores shared with other work (load average ${load.toFixed(1)} at start). Wall-clock time of this process; no simulator.\n\n`;
md += `## Memory at ${ENDPOINTS} endpoints × ${BLOCKS.toLocaleString('en')} blocks (${BS} tokens)\n\n| blocks | distinct blocks (rows) | heap + buffers MiB | bytes per (endpoint, block) |\n|---|---|---|---|\n`;
md += `| all distinct | ${distinct.rows.toLocaleString('en')} | ${distinct.mib.toFixed(0)} | ${distinct.bytesPerEntry.toFixed(0)} |\n`;
md += `| first half shared by all | ${half.rows.toLocaleString('en')} | ${half.mib.toFixed(0)} | ${half.bytesPerEntry.toFixed(0)} |\n`;
md += `\n## Scoring at ${ENDPOINTS} endpoints, a ${score.prompt_tokens}-token chat prompt (Qwen3 tokenizer, chat template, hashing, index lookup)\n\n| tokenizer cache | p50 µs | p99 µs |\n|---|---|---|\n`;
md += `| earlier turns seen before (2,000 requests) | ${score.warm_p50_us.toFixed(0)} | ${score.warm_p99_us.toFixed(0)} |\n`;
md += `| whole conversation new (30 requests) | ${score.cold_p50_us.toFixed(0)} | ${score.cold_p99_us.toFixed(0)} |\n`;
writeFileSync(join(outDir, 'kv-index-micro.md'), md);
console.log(md);
