/**
 * Chained block hashes of prompts that share leading pieces with earlier prompts, without encoding
 * or hashing those pieces again: a trie over a tokenizer's exact pieces (`PromptTokenizer.pieces`,
 * the text cut at added tokens). Each node is one piece after its predecessors and keeps the chain
 * state after it: the hashes of the blocks completed inside it, the tokens past the last full
 * block, and the block count so far. A multi-round conversation walks its earlier turns' nodes (one
 * Map lookup per piece) and encodes and hashes only the new turn.
 *
 * Exact: the hashes equal `hashTokenBlocks(tokenizer.encode(text))` because the pieces' encodings
 * concatenate to the text's (the tokenizer's contract) and the chain is continued across pieces.
 * Memory is bounded: past `maxNodes` nodes or `maxBlocks` stored hashes (8 bytes each) the trie is
 * dropped and grows again from later prompts.
 */
import { hashTokenBlock } from '../../scraping/kv-events/token-hash.js';
import { ownCopy } from '../../util/strings.js';

/** What the cache needs of a tokenizer: one piece's ids (PromptTokenizer.encodePiece). */
export type PieceEncoder = (piece: string) => readonly number[];

const NO_HASHES = new Float64Array(0);
const NO_TOKENS: readonly number[] = [];

/**
 * A cheap key for a piece: its length and 16 of its characters, evenly spaced. Hashing the whole
 * piece (a Map keyed by the string) reads every character one by one; a lookup here reads 17 and
 * then confirms with one string comparison (a block compare), so a 37,000-character prompt walks its
 * pieces several times faster.
 */
function fingerprint(piece: string): number {
  const n = piece.length;
  const step = n > 16 ? Math.floor(n / 16) : 1;
  let h = n;
  for (let i = 0; i < n; i += step) h = Math.imul(h ^ piece.charCodeAt(i), 0x9e3779b1);
  return h;
}

class PieceNode {
  /** Next pieces by fingerprint; created on the first one (most nodes are leaves or have one). */
  children: Map<number, PieceNode | PieceNode[]> | undefined;
  constructor(
    /** The piece this node follows its parent with ('' at a root). */
    readonly piece: string,
    readonly parent: PieceNode | undefined,
    /** Full blocks from the prompt's start through this piece. */
    readonly blocks: number,
    /** Hashes of the blocks completed inside this piece (the last `hashes.length` of `blocks`). */
    readonly hashes: Float64Array,
    /** Hash of the last full block so far: the chain's parent for the next block. */
    readonly last: number,
    /** Tokens past the last full block (fewer than a block). */
    readonly tail: readonly number[],
  ) {}
}

export interface PromptBlockCacheLimits {
  /** Nodes (pieces) kept at most (default 100,000). */
  readonly maxNodes?: number;
  /** Block hashes kept at most over all nodes (default 1,000,000: 8 MB). */
  readonly maxBlocks?: number;
}

export class PromptBlockCache {
  private readonly roots = new Map<number, PieceNode>();
  private nodes = 0;
  private blocks = 0;
  private readonly maxNodes: number;
  private readonly maxBlocks: number;

  constructor(
    readonly blockSize: number,
    limits: PromptBlockCacheLimits = {},
  ) {
    this.maxNodes = limits.maxNodes ?? 100_000;
    this.maxBlocks = limits.maxBlocks ?? 1_000_000;
  }

  /** Nodes held now (for tests and memory accounting). */
  get size(): number {
    return this.nodes;
  }

  /**
   * Writes the chained hashes (from `root`) of the full blocks of the pieces' tokens into `out`, at
   * most out.length of them, and returns how many it wrote. Pieces past that many blocks are not
   * encoded.
   */
  hash(pieces: readonly string[], encodePiece: PieceEncoder, root: number, out: Float64Array): number {
    let node: PieceNode = this.roots.get(root) ?? new PieceNode('', undefined, 0, NO_HASHES, root, NO_TOKENS);
    this.roots.set(root, node);
    for (let i = 0; i < pieces.length && node.blocks < out.length; i++) {
      const piece = pieces[i]!;
      const key = fingerprint(piece);
      const found = node.children?.get(key);
      let child = found === undefined ? undefined : childOf(found, piece);
      if (!child) {
        child = this.extend(node, piece, encodePiece(piece));
        node.children ??= new Map();
        node.children.set(
          key,
          found === undefined ? child : [...(Array.isArray(found) ? found : [found]), child],
        );
        this.nodes++;
        this.blocks += child.hashes.length;
      }
      node = child;
    }
    const n = Math.min(node.blocks, out.length);
    for (let at: PieceNode | undefined = node; at?.parent; at = at.parent) {
      const start = at.blocks - at.hashes.length;
      const end = Math.min(at.blocks, n);
      for (let b = start; b < end; b++) out[b] = at.hashes[b - start]!;
    }
    if (this.nodes > this.maxNodes || this.blocks > this.maxBlocks) {
      this.roots.clear();
      this.nodes = 0;
      this.blocks = 0;
    }
    return n;
  }

  private extend(parent: PieceNode, piece: string, ids: readonly number[]): PieceNode {
    const bs = this.blockSize;
    const tokens = parent.tail.length === 0 ? ids : [...parent.tail, ...ids];
    const full = Math.floor(tokens.length / bs);
    const hashes = full === 0 ? NO_HASHES : new Float64Array(full);
    let last = parent.last;
    for (let b = 0; b < full; b++) {
      last = hashTokenBlock(last, tokens, b * bs, bs);
      hashes[b] = last;
    }
    return new PieceNode(ownCopy(piece), parent, parent.blocks + full, hashes, last, tokens.slice(full * bs));
  }
}

/** The node among those sharing a fingerprint whose piece is `piece`. */
function childOf(found: PieceNode | PieceNode[], piece: string): PieceNode | undefined {
  if (!Array.isArray(found)) return found.piece === piece ? found : undefined;
  for (const n of found) if (n.piece === piece) return n;
  return undefined;
}
