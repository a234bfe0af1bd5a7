/**
 * An OpenAI chat request's chat-template input, built as vLLM builds it, so that the prompt the
 * gateway renders (precise scorer) and the simulator renders is the engine's:
 * - messages as vLLM's parse_chat_messages makes them with the "string" content format
 *   (vllm/entrypoints/chat_utils.py): text parts joined with "\n", null content as "", an
 *   assistant's `tool_calls` kept (an empty list dropped; each function's JSON-string `arguments`
 *   parsed to an object, `{}` when it is not JSON, as _postprocess_messages does) and its `reasoning`
 *   also as `reasoning_content`; a tool message's `tool_call_id`; `name` when a string;
 * - the request's `tools` as vLLM's protocol models dump them (`type`, then `function` with `name`,
 *   `description`, `parameters` — null when absent — then any other fields in the client's order),
 *   `tools` and `documents` null when absent (transformers passes them to the template explicitly);
 * - `add_generation_prompt` (default true), `continue_final_message` (default false) and the
 *   request's `chat_template_kwargs` (e.g. Qwen3's `enable_thinking`).
 * Not reproduced: non-text content parts (images, audio: a text-only view; multimodal placeholders
 * are the model's), the "openai" content format some templates select, and the cut transformers
 * makes after the final message when `continue_final_message` is true.
 */
import type { ChatMessage } from './types.js';

type Json = Record<string, unknown>;

export interface ChatTemplateRequest {
  readonly messages: ChatMessage[];
  /** The template's other variables (tools, documents, flags, the request's kwargs). */
  readonly vars: Json;
}

const TEXT_PART_FIELDS: Readonly<Record<string, string>> = {
  text: 'text',
  input_text: 'text',
  output_text: 'text',
  refusal: 'refusal',
  thinking: 'thinking',
};

/** A message's content as one string: vLLM joins text parts with a newline. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') texts.push(part);
    else if (isObject(part) && typeof part.type === 'string') {
      const field = TEXT_PART_FIELDS[part.type];
      const text = field === undefined ? undefined : part[field];
      if (typeof text === 'string') texts.push(text);
    }
  }
  return texts.join('\n');
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An assistant's tool calls as the template sees them (arguments as objects). */
function toolCalls(calls: readonly unknown[]): unknown[] {
  return calls.map((call) => {
    if (!isObject(call) || !isObject(call.function)) return call;
    const args = call.function.arguments;
    let parsed: unknown = {};
    if (typeof args === 'string') {
      try {
        parsed = JSON.parse(args);
      } catch {
        parsed = {};
      }
    } else if (typeof args === 'object' && args !== null) parsed = args;
    return { ...call, function: { ...call.function, arguments: parsed } };
  });
}

function conversationMessage(m: Json): ChatMessage {
  const role = typeof m.role === 'string' ? m.role : '';
  const out: Record<string, unknown> = { role, content: messageText(m.content) };
  if (role === 'assistant') {
    if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) out.tool_calls = toolCalls(m.tool_calls);
    const reasoning = m.reasoning ?? m.reasoning_content;
    if (typeof reasoning === 'string') {
      out.reasoning = reasoning;
      out.reasoning_content = reasoning;
    }
  } else if (role === 'tool' && 'tool_call_id' in m) out.tool_call_id = m.tool_call_id;
  if (typeof m.name === 'string') out.name = m.name;
  return out as unknown as ChatMessage;
}

/** A tool definition as vLLM's ChatCompletionToolsParam.model_dump() gives it. */
function toolDump(tool: Json): Json {
  const { type, function: fn, ...extra } = tool;
  const f = isObject(fn) ? fn : {};
  const { name, description, parameters, ...fnExtra } = f;
  return {
    type: type ?? 'function',
    function: { name, description: description ?? null, parameters: parameters ?? null, ...fnExtra },
    ...extra,
  };
}

/** The template input of a chat request body, or undefined when it has no `messages` list. */
export function chatTemplateRequest(body: Json | undefined): ChatTemplateRequest | undefined {
  if (!body || !Array.isArray(body.messages)) return undefined;
  const messages: ChatMessage[] = [];
  for (const m of body.messages) if (isObject(m)) messages.push(conversationMessage(m));
  const vars: Json = {
    add_generation_prompt:
      typeof body.add_generation_prompt === 'boolean' ? body.add_generation_prompt : true,
    continue_final_message: body.continue_final_message === true,
    tools: Array.isArray(body.tools) ? body.tools.filter(isObject).map(toolDump) : null,
    documents: body.documents ?? null,
  };
  // the request's kwargs go over the rest, as in vLLM (which refuses these two from a request)
  const kwargs = isObject(body.chat_template_kwargs) ? body.chat_template_kwargs : {};
  for (const [k, v] of Object.entries(kwargs)) if (k !== 'chat_template' && k !== 'tokenize') vars[k] = v;
  return { messages, vars };
}
