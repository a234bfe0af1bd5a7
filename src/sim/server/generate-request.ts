/**
 * Parsing and validation of /v1/chat/completions and /v1/completions bodies into one shape, with
 * vLLM's defaults (completions: max_tokens 16; chat: up to max-model-len − prompt) and errors.
 * Chat messages go through a simple ChatML-style template before tokenisation, so the prefix cache
 * sees the templated prompt, as vLLM's does.
 */

import { chatTemplateRequest } from '../../tokenizer/chat-request.js';
import { applyChatTemplate as standInTemplate } from '../../tokenizer/stand-in.js';
import { StandInTokenizer } from '../../tokenizer/stand-in-tokenizer.js';
import type { PromptTokenizer } from '../../tokenizer/types.js';
import { badRequest, maxTokensTooLarge, promptTooLong } from './errors.js';

export type GenerateKind = 'chat' | 'completion';

export interface GenerateRequest {
  kind: GenerateKind;
  /** The `model` field as sent, or null when absent (vLLM then serves the base model). */
  model: string | null;
  promptTokens: ArrayLike<number>;
  /** max_tokens / max_completion_tokens as sent, or null. */
  maxTokensParam: number | null;
  stream: boolean;
  includeUsage: boolean;
  stop: string[];
  ignoreEos: boolean;
}

type Json = Record<string, unknown>;

/** The stand-in's ChatML-style template (see src/tokenizer/stand-in.ts). */
export const applyChatTemplate = standInTemplate;

const STAND_IN: PromptTokenizer = new StandInTokenizer();

function checkContent(content: unknown, index: number): void {
  if (typeof content === 'string' || content === null || content === undefined || Array.isArray(content))
    return;
  throw badRequest(`messages[${index}].content must be a string or a list of content parts`, `messages`);
}

function optionalInt(body: Json, field: string, min: number): number | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(`${field} must be an integer`, field);
  if (v < min) throw badRequest(`${field} must be at least ${min}, got ${v}.`, field);
  return v;
}

function stopList(body: Json): string[] {
  const s = body.stop;
  if (s === undefined || s === null) return [];
  if (typeof s === 'string') return s.length > 0 ? [s] : [];
  if (Array.isArray(s) && s.every((x) => typeof x === 'string'))
    return (s as string[]).filter((x) => x.length > 0);
  throw badRequest('stop must be a string or a list of strings', 'stop');
}

/** Validates a body (already JSON-parsed) and tokenises its prompt. Throws SimHttpError. */
export function parseGenerateRequest(
  kind: GenerateKind,
  raw: unknown,
  tokenizer: PromptTokenizer = STAND_IN,
): GenerateRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badRequest('The request body must be a JSON object');
  }
  const body = raw as Json;
  const model = body.model;
  if (model !== undefined && model !== null && typeof model !== 'string')
    throw badRequest('model must be a string', 'model');
  const n = optionalInt(body, 'n', 1);
  if (n !== null && n !== 1)
    throw badRequest(`n must be 1: the simulator serves one choice per request (got ${n})`, 'n');
  const stream = body.stream === true;
  const so = body.stream_options;
  if (so !== undefined && so !== null) {
    if (!stream) throw badRequest('Stream options can only be defined when `stream=True`.', 'stream_options');
    if (typeof so !== 'object') throw badRequest('stream_options must be an object', 'stream_options');
  }
  const includeUsage = stream && typeof so === 'object' && so !== null && (so as Json).include_usage === true;
  let maxTokensParam: number | null;
  let promptTokens: ArrayLike<number>;
  if (kind === 'chat') {
    const msgs = body.messages;
    if (!Array.isArray(msgs) || msgs.length === 0)
      throw badRequest('messages must be a non-empty list', 'messages');
    msgs.forEach((m, i) => {
      if (typeof m !== 'object' || m === null || typeof (m as Json).role !== 'string') {
        throw badRequest(`messages[${i}] must be an object with a string role`, 'messages');
      }
      checkContent((m as Json).content, i);
    });
    // the template input as vLLM builds it (tool calls, tools, chat_template_kwargs, text parts)
    const chat = chatTemplateRequest(body)!;
    maxTokensParam = optionalInt(body, 'max_completion_tokens', 1) ?? optionalInt(body, 'max_tokens', 1);
    let rendered: string;
    try {
      rendered = tokenizer.renderChat(chat.messages, chat.vars);
    } catch (err) {
      throw badRequest(`chat template failed: ${(err as Error).message}`, 'messages');
    }
    promptTokens = tokenizer.encode(rendered, false);
  } else {
    const p = body.prompt;
    maxTokensParam = optionalInt(body, 'max_tokens', 1);
    if (typeof p === 'string') promptTokens = tokenizer.encode(p, true);
    else if (Array.isArray(p) && p.length > 0 && p.every((t) => Number.isInteger(t) && (t as number) >= 0)) {
      promptTokens = p as number[];
    } else if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string')
      promptTokens = tokenizer.encode(p[0], true);
    else if (Array.isArray(p) && p.length > 1) {
      throw badRequest(
        'the simulator serves one prompt per request (batched prompts are not supported)',
        'prompt',
      );
    } else throw badRequest('prompt must be a string or a list of token ids', 'prompt');
  }
  if (promptTokens.length === 0)
    throw badRequest('The prompt cannot be empty', kind === 'chat' ? 'messages' : 'prompt');
  return {
    kind,
    model: typeof model === 'string' ? model : null,
    promptTokens,
    maxTokensParam,
    stream,
    includeUsage,
    stop: stopList(body),
    ignoreEos: body.ignore_eos === true,
  };
}

/**
 * Effective max_tokens: the request's (checked against max-model-len), or vLLM's default
 * (completions 16, chat max-model-len − prompt), never beyond max-model-len − prompt.
 */
export function effectiveMaxTokens(req: GenerateRequest, maxModelLen: number): number {
  const input = req.promptTokens.length;
  if (input >= maxModelLen) throw promptTooLong(maxModelLen, input);
  const room = maxModelLen - input;
  if (req.maxTokensParam !== null) {
    if (req.maxTokensParam > room) throw maxTokensTooLarge(req.maxTokensParam, maxModelLen, input);
    return req.maxTokensParam;
  }
  return req.kind === 'completion' ? Math.min(16, room) : room;
}
