/**
 * Micro-benchmark of the precise prefix-cache path (issue 14):
 * 1. memory of the KV-event index at 64 endpoints × 100,000 blocks each, with every block distinct
 *    (worst case) and with a shared half (each endpoint's first 50,000 blocks are a prefix all share);
 * 2. the scoring cost at 64 endpoints for an ≈ 8,000-token chat prompt: chat template (compiled, and
 *    interpreted by the library for comparison) + Qwen3
 *    tokenization (earlier turns from the per-piece trie, the new user turn encoded) + chained block
 *    hashing + the index lookup, p50/p99 over many requests, split by stage; without tokenization
 *    (ids given); and cold (a conversation never seen) with the tiktoken-core encoder and with
 *    @huggingface/tokenizers' own.
 *
 *   node --expose-gc --import tsx bench/kv-index-micro.ts [--no-memory] [--out DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import {
  promptBlockHashes,
  requestPrompt,
} from '../src/scheduling/plugins/scorers/precise-prefix-cache-scorer.js';
import { PromptBlockCache } from '../src/scheduling/prefix/prompt-blocks.js';
import { KvBlockIndex } from '../src/scraping/kv-events/block-index.js';
import type { StoredEvent } from '../src/scraping/kv-events/decode.js';
import { hashTokenBlocks, rootHash } from '../src/scraping/kv-events/token-hash.js';
import { synthText } from '../src/sim/tokenizer.js';
import { HfTokenizer, loadTokenizer } from '../src/tokenizer/index.js';
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

interface Percentiles {
  p50_us: number;
  p99_us: number;
}

function percentiles(us: number[]): Percentiles {
  return { p50_us: pct(us, 50), p99_us: pct(us, 99) };
}

/** Wall µs of each stage of the scorer's path for one request. */
interface StageTimes {
  render: number;
  pieces: number;
  /** Trie walk and block hashing, without the encoding of unseen pieces. */
  trie: number;
  encode: number;
  match: number;
}

/** The conversation of the scoring runs: a 1,500-token system prompt and ten turns, ≈ 8,000 Qwen3 tokens. */
function conversation(rng: SeededRng): { role: string; content: string }[] {
  return [
    { role: 'system', content: synthText(() => rng.next(), 1500) },
    ...Array.from({ length: 10 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: synthText(() => rng.next(), 640),
    })),
  ];
}

function scoring() {
  const tok = loadTokenizer(QWEN3_TOKENIZER_DIR) as HfTokenizer;
  const library = new HfTokenizer(QWEN3_TOKENIZER_DIR, { fastEncoder: false });
  const rng = new SeededRng(7);
  const base = conversation(rng);
  const index = new KvBlockIndex({ blockSize: BS, maxBlocksPerEndpoint: 1_000_000 });
  const scratch = new Float64Array(8192);
  const out = new Int32Array(ENDPOINTS);
  // endpoints hold the conversation's prefix to various depths (from their own BlockStored events)
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
  /** Match of already computed block hashes against the 64 endpoints; the best ratio. */
  const matchBest = (n: number): number => {
    index.match(scratch, n, out);
    let best = 0;
    for (let e = 0; e < ENDPOINTS; e++) {
      const s = slots[e]!;
      const r = s >= 0 ? out[s]! / n : 0;
      if (r > best) best = r;
    }
    return best;
  };
  /** Scoring without tokenization (ids given): chained hashing of every block + the lookup. */
  const lookup = (tokens: ArrayLike<number>): number =>
    matchBest(hashTokenBlocks(tokens, tokens.length, BS, rootHash(null), scratch));
  /**
   * The scorer's path: template, then the per-piece block-hash trie (earlier turns neither encoded
   * nor hashed again; promptBlockHashes), then the lookup — timed as a whole.
   */
  const pathOf =
    (t: HfTokenizer, cache: PromptBlockCache) =>
    (messages: { role: string; content: string }[]): { us: number; blocks: number; best: number } => {
      const t0 = performance.now();
      const prompt = requestPrompt({ model: 'm', messages }, t)!;
      const n = promptBlockHashes(prompt, t, cache, rootHash(null), scratch);
      const best = matchBest(n);
      return { us: (performance.now() - t0) * 1000, blocks: n, best };
    };
  const one = pathOf(tok, new PromptBlockCache(BS));
  const trie = new PromptBlockCache(BS);
  /** The same path split in stages, for where the time goes. */
  const staged = (messages: { role: string; content: string }[]): StageTimes => {
    const t0 = performance.now();
    const text = tok.renderChat(messages);
    const t1 = performance.now();
    const pieces = tok.pieces(text, false)!;
    const t2 = performance.now();
    let encode = 0;
    const n = trie.hash(
      pieces,
      (p) => {
        const a = performance.now();
        const ids = tok.encodePiece(p);
        encode += performance.now() - a;
        return ids;
      },
      rootHash(null),
      scratch,
    );
    const t3 = performance.now();
    matchBest(n);
    const t4 = performance.now();
    return {
      render: (t1 - t0) * 1000,
      pieces: (t2 - t1) * 1000,
      trie: (t3 - t2 - encode) * 1000,
      encode: encode * 1000,
      match: (t4 - t3) * 1000,
    };
  };
  const nextTurn = () => [...base, { role: 'user', content: synthText(() => rng.next(), 40) }];
  // warm: the conversation's earlier turns are in the trie (and JIT warmed up)
  for (let i = 0; i < 300; i++) one(nextTurn());
  for (let i = 0; i < 300; i++) staged(nextTurn());
  const warm: number[] = [];
  let blocks = 0;
  let best = 0;
  for (let i = 0; i < 2000; i++) {
    const r = one(nextTurn());
    warm.push(r.us);
    blocks = r.blocks;
    best = r.best;
  }
  // the same path with the chat template interpreted by @huggingface/jinja (before the compiled form)
  const interpreted = new HfTokenizer(QWEN3_TOKENIZER_DIR, { chatTemplateOptions: { compiled: false } });
  const onePath = pathOf(interpreted, new PromptBlockCache(BS));
  for (let i = 0; i < 300; i++) onePath(nextTurn());
  const warmInterpreted: number[] = [];
  for (let i = 0; i < 2000; i++) warmInterpreted.push(onePath(nextTurn()).us);
  const stages: StageTimes[] = [];
  for (let i = 0; i < 2000; i++) stages.push(staged(nextTurn()));
  // without tokenization: the token ids are given (as for a /v1/completions prompt of token ids)
  const given = tok.encode(tok.renderChat(nextTurn()), false);
  const lookupOnly: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    lookup(given);
    lookupOnly.push((performance.now() - t0) * 1000);
  }
  // cold: whole conversations never seen, with the fast encoder and with the library's
  const coldRun = (t: HfTokenizer, count: number): number[] => {
    const path = pathOf(t, new PromptBlockCache(BS));
    const us: number[] = [];
    for (let i = 0; i < count; i++) us.push(path(conversation(rng)).us);
    return us;
  };
  coldRun(tok, 10);
  const cold = coldRun(tok, 200);
  coldRun(library, 5);
  const coldLibrary = coldRun(library, 60);
  return {
    prompt_tokens: given.length,
    prompt_blocks: blocks,
    best_match_ratio: best,
    encoder: tok.encoder,
    chat_template: tok.chatTemplateStats,
    warm: percentiles(warm),
    warm_interpreted_template: percentiles(warmInterpreted),
    stages: {
      render: percentiles(stages.map((s) => s.render)),
      pieces: percentiles(stages.map((s) => s.pieces)),
      trie: percentiles(stages.map((s) => s.trie)),
      encode: percentiles(stages.map((s) => s.encode)),
      match: percentiles(stages.map((s) => s.match)),
    },
    lookup_only: percentiles(lookupOnly),
    cold: percentiles(cold),
    cold_library_encoder: percentiles(coldLibrary),
  };
}

const started = new Date().toISOString();
const loadBefore = loadavg();
const skipMemory = process.argv.includes('--no-memory');
const distinct = skipMemory ? undefined : memory(0);
const half = skipMemory ? undefined : memory(BLOCKS / 2);
const score = scoring();
const loadAfter = loadavg();
const result = {
  started_at: started,
  machine: {
    cpus: cpus().length,
    loadavg_before: loadBefore,
    loadavg_after: loadAfter,
    exclusive: "run under an exclusive benchmark lock (other engineers' heavy jobs paused)",
  },
  endpoints: ENDPOINTS,
  blocks_per_endpoint: BLOCKS,
  block_size: BS,
  memory: distinct && half ? { distinct, half_shared: half } : null,
  scoring: score,
};
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'kv-index-micro.json'), `${JSON.stringify(result, null, 2)}\n`);
const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
const us = (p: Percentiles) => `${p.p50_us.toFixed(0)} | ${p.p99_us.toFixed(0)}`;
let md = `# KV-event index micro-benchmark (issue 14)\n\nStarted ${started}; \`node --expose-gc --import tsx bench/kv-index-micro.ts${skipMemory ? ' --no-memory' : ''}\` (exclusive: other engineers' heavy jobs paused). Machine: ${cpus().length} cores; load average (1/5/15 min) ${la(loadBefore)} before, ${la(loadAfter)} after. Wall-clock time of this one process; no simulator.\n\n`;
if (distinct && half) {
  md += `## Memory at ${ENDPOINTS} endpoints × ${BLOCKS.toLocaleString('en')} blocks (${BS} tokens)\n\n| blocks | distinct blocks (rows) | heap + buffers MiB | bytes per (endpoint, block) |\n|---|---|---|---|\n`;
  md += `| all distinct | ${distinct.rows.toLocaleString('en')} | ${distinct.mib.toFixed(0)} | ${distinct.bytesPerEntry.toFixed(0)} |\n`;
  md += `| first half shared by all | ${half.rows.toLocaleString('en')} | ${half.mib.toFixed(0)} | ${half.bytesPerEntry.toFixed(0)} |\n`;
}
md += `\n## Scoring at ${ENDPOINTS} endpoints, a ${score.prompt_tokens}-token chat prompt (Qwen3 tokenizer and chat template)\n\n`;
md += `Each warm request is the same 11-message conversation (system 1,500 tokens, ten turns of 640) plus a new 40-word user turn, as a multi-round chat sends it; each cold request is a conversation of that size never seen. Encoder of unseen text: ${score.encoder.kind}; chat template: ${score.chat_template?.kind} (${score.chat_template?.fallbacks} fallbacks).\n\n| path | requests | p50 µs | p99 µs |\n|---|---|---|---|\n`;
md += `| warm, with tokenization: the scorer's path (template + per-piece block-hash trie + lookup) | 2,000 | ${us(score.warm)} |\n`;
md += `| warm, with tokenization, the template interpreted by @huggingface/jinja (before) | 2,000 | ${us(score.warm_interpreted_template)} |\n`;
md += `| without tokenization (token ids given: hashing of every block + lookup of 64 endpoints) | 2,000 | ${us(score.lookup_only)} |\n`;
md += `| cold, with tokenization: conversation never seen (tiktoken core) | 200 | ${us(score.cold)} |\n`;
md += `| cold, with tokenization, @huggingface/tokenizers' encoder (before) | 60 | ${us(score.cold_library_encoder)} |\n`;
md += `\nWhere the warm path's time goes (timed per stage, another 2,000 requests):\n\n| stage | p50 µs | p99 µs |\n|---|---|---|\n`;
md += `| chat template render | ${us(score.stages.render)} |\n| cut at added tokens | ${us(score.stages.pieces)} |\n| trie walk + hashing new blocks | ${us(score.stages.trie)} |\n| encoding the new turn | ${us(score.stages.encode)} |\n| lookup (64 endpoints) | ${us(score.stages.match)} |\n`;
writeFileSync(join(outDir, 'kv-index-micro.md'), md);
console.log(md);
