/**
 * A Hugging Face tokenizer read from local files (`tokenizer.json`, and `tokenizer_config.json`
 * beside it for the chat template and special tokens), encoded by @huggingface/tokenizers and
 * templated by @huggingface/jinja — the same files vLLM loads for the model.
 *
 * Encoding is cached per segment: the text is cut at the tokenizer's added tokens (which the
 * tokenizer itself splits out before normalising and pre-tokenising the pieces between them), and
 * each piece's ids are kept in an LRU. A chat prompt is a run of `<|im_start|>…<|im_end|>`
 * segments, so a long conversation costs one Map lookup per earlier message and a real encoding
 * of the new turn only. The cut is exact only when no added token strips neighbouring whitespace
 * (lstrip/rstrip) and none is matched after normalisation; otherwise the whole text is encoded.
 * `pieces` / `encodePiece` expose the same cut, so a caller can cache per piece what it derives
 * from the ids (the precise scorer keeps block hashes per piece: scheduling/prefix/prompt-blocks.ts).
 * The chat template is parsed once, here, and compiled to closures when the compiler covers it
 * (chat-template.ts: the library's interpreter renders what the compiled form does not).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ownCopy } from '../util/strings.js';
import { type ByteLevelBpeStats, byteLevelBpeEncoder, type PieceEncodeFn } from './byte-level-bpe.js';
import { ChatTemplate, type ChatTemplateOptions, type ChatTemplateStats } from './chat-template.js';
import type { ChatMessage, PromptTokenizer } from './types.js';

export interface HfTokenizerOptions {
  /** A Jinja chat template overriding tokenizer_config.json's (vLLM's --chat-template), as text. */
  chatTemplate?: string;
  /** Segments kept in the encoding cache (default 20,000). */
  cacheEntries?: number;
  /**
   * Encode the text between added tokens with tiktoken's core when it is exact for this tokenizer
   * (byte-level-bpe.ts; default true). False: always @huggingface/tokenizers.
   */
  fastEncoder?: boolean;
  /** How the chat template renders: compiled (default) with its checks (chat-template.ts). */
  chatTemplateOptions?: ChatTemplateOptions;
}

interface AddedTokenJson {
  id: number;
  content: string;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

type JsonObject = Record<string, unknown>;

function readJson(path: string): JsonObject {
  return JSON.parse(readFileSync(path, 'utf8')) as JsonObject;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function tokenText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as JsonObject).content === 'string')
    return (v as JsonObject).content as string;
  return '';
}

export class HfTokenizer implements PromptTokenizer {
  readonly name: string;
  private readonly tok: Tokenizer;
  private readonly template: ChatTemplate | undefined;
  private readonly templateVars: JsonObject;
  /** Splits text at added tokens (capturing them), or undefined when segment caching is off. */
  private readonly splitter: RegExp | undefined;
  /** The same alternation, sticky: matches an added token exactly at lastIndex. */
  private readonly addedAt: RegExp | undefined;
  /** The first UTF-16 unit every added token starts with, when they all share one (a fast scan). */
  private readonly lead: string | undefined;
  private readonly addedIds = new Map<string, number>();
  /** Each added token's content → its one-id encoding. */
  private readonly addedPieces = new Map<string, readonly number[]>();
  private readonly cache = new Map<string, readonly number[]>();
  private readonly cacheEntries: number;
  /** encode(text, true) adds nothing: the cached path serves both. */
  private readonly addsNothing: boolean;
  /** Encodes the text between added tokens (tiktoken's core, or the library). */
  private readonly encodeText: PieceEncodeFn;
  /**
   * Which encoder `encodeText` is, and when it is the library, why tiktoken's is not used; with
   * tiktoken, how many texts were split in JavaScript and how many encoded whole (byte-level-bpe.ts).
   */
  readonly encoder: {
    readonly kind: 'tiktoken' | 'huggingface';
    readonly reason?: string;
    readonly stats?: Readonly<ByteLevelBpeStats>;
  };

  /** `path`: a tokenizer.json file, or a directory holding one. */
  constructor(path: string, opts: HfTokenizerOptions = {}) {
    const file = statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
    this.name = file;
    const json = readJson(file);
    let config: JsonObject = {};
    try {
      config = readJson(join(dirname(file), 'tokenizer_config.json'));
    } catch {
      // no tokenizer_config.json: no chat template unless given
    }
    this.tok = new Tokenizer(json as never, config as never);
    const source =
      opts.chatTemplate ?? (typeof config.chat_template === 'string' ? config.chat_template : undefined);
    this.templateVars = {
      bos_token: tokenText(config.bos_token),
      eos_token: tokenText(config.eos_token),
      add_generation_prompt: true,
    };
    this.template =
      source === undefined
        ? undefined
        : new ChatTemplate(source, this.templateVars, opts.chatTemplateOptions);
    this.cacheEntries = Math.max(0, opts.cacheEntries ?? 20_000);
    const added = Array.isArray(json.added_tokens) ? (json.added_tokens as AddedTokenJson[]) : [];
    let exact = added.length > 0;
    for (const t of added) {
      this.addedIds.set(t.content, t.id);
      this.addedPieces.set(t.content, [t.id]);
      if (t.lstrip || t.rstrip || t.normalized) exact = false;
    }
    const alternation = [...this.addedIds.keys()]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegex)
      .join('|');
    this.splitter = exact ? new RegExp(`(${alternation})`, 'u') : undefined;
    this.addedAt = exact ? new RegExp(alternation, 'uy') : undefined;
    const leads = new Set([...this.addedIds.keys()].map((t) => t[0]));
    this.lead = leads.size === 1 ? [...leads][0] : undefined;
    this.addsNothing = this.tok.encode('', { add_special_tokens: true }).ids.length === 0;
    const library: PieceEncodeFn = (text) => this.tok.encode(text, { add_special_tokens: false }).ids;
    const fast =
      opts.fastEncoder === false || !this.splitter
        ? { reason: opts.fastEncoder === false ? 'disabled' : 'no exact cut at added tokens' }
        : byteLevelBpeEncoder(json, library);
    this.encodeText = fast.encode ?? library;
    this.encoder = fast.encode
      ? { kind: 'tiktoken', stats: fast.stats }
      : { kind: 'huggingface', reason: fast.reason };
  }

  encode(text: string, addSpecialTokens: boolean): number[] {
    const parts = this.pieces(text, addSpecialTokens);
    if (!parts) return this.tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    const out: number[] = [];
    for (const part of parts) {
      const ids = this.encodePiece(part);
      for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
    }
    return out;
  }

  pieces(text: string, addSpecialTokens: boolean): string[] | undefined {
    if (!this.splitter || (addSpecialTokens && !this.addsNothing)) return undefined;
    if (this.lead !== undefined && this.addedAt) return this.scan(text, this.lead, this.addedAt);
    const parts = text.split(this.splitter);
    let w = 0;
    for (let i = 0; i < parts.length; i++) if (parts[i]!.length > 0) parts[w++] = parts[i]!;
    parts.length = w;
    return parts;
  }

  /**
   * The split at added tokens when they all start with `lead`: jumps from one `lead` to the next
   * and tries the (longest-first, sticky) alternation there — the leftmost match, as the split's.
   */
  private scan(text: string, lead: string, at: RegExp): string[] {
    const parts: string[] = [];
    let start = 0;
    let i = text.indexOf(lead);
    while (i !== -1) {
      at.lastIndex = i;
      const m = at.exec(text);
      if (!m) {
        i = text.indexOf(lead, i + 1);
        continue;
      }
      if (i > start) parts.push(text.slice(start, i));
      parts.push(m[0]);
      start = i + m[0].length;
      i = text.indexOf(lead, start);
    }
    if (start < text.length) parts.push(start === 0 ? text : text.slice(start));
    return parts;
  }

  encodePiece(piece: string): readonly number[] {
    return this.addedPieces.get(piece) ?? this.segment(piece);
  }

  describe(): Readonly<Record<string, string | undefined>> {
    return {
      encoder: this.encoder.kind,
      encoderReason: this.encoder.reason,
      chatTemplate: this.template?.stats.kind ?? 'none',
      chatTemplateReason: this.template?.stats.reason,
    };
  }

  /** Who renders the chat template and how often the compiled form fell back; undefined without one. */
  get chatTemplateStats(): Readonly<ChatTemplateStats> | undefined {
    return this.template?.stats;
  }

  renderChat(messages: readonly ChatMessage[], vars?: Readonly<Record<string, unknown>>): string {
    if (!this.template) {
      throw new Error(`tokenizer ${this.name} has no chat template (give one with --chat-template)`);
    }
    return this.template.render(
      vars === undefined ? { ...this.templateVars, messages } : { ...this.templateVars, ...vars, messages },
    );
  }

  private segment(text: string): readonly number[] {
    const hit = this.cache.get(text);
    if (hit) {
      this.cache.delete(text);
      this.cache.set(text, hit);
      return hit;
    }
    const ids = this.encodeText(text);
    if (this.cacheEntries > 0) {
      if (this.cache.size >= this.cacheEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(ownCopy(text), ids);
    }
    return ids;
  }
}
