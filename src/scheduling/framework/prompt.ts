/**
 * The text a request asks the server to read, as the scheduler sees it (for prefix hashing).
 *
 * Chat requests are rendered canonically rather than hashed as the JSON of `messages` (the reference
 * picker's choice): `<|role|>` + content + newline per message, tool definitions first. Rendering
 * keeps the prefix property that multi-round chat relies on — round k's rendering is a prefix of
 * round k+1's — independent of key order, whitespace and escaping in the client's JSON, and it can
 * stop as soon as `limit` characters are produced, so a 100 KB conversation costs no more than the
 * blocks that are matched.
 */
import type { InferenceRequest } from '../../openai/inference-request.js';

export function renderPrompt(req: InferenceRequest, limit: number): string {
  const json = req.json;
  if (!json || limit <= 0) return '';
  const messages = json.messages;
  if (Array.isArray(messages)) return renderChat(messages, json.tools, limit);
  const prompt = json.prompt ?? json.input;
  if (typeof prompt === 'string') return prompt.length > limit ? prompt.slice(0, limit) : prompt;
  if (Array.isArray(prompt)) return renderList(prompt, limit);
  return '';
}

function renderChat(messages: readonly unknown[], tools: unknown, limit: number): string {
  let out = '';
  if (Array.isArray(tools) && tools.length > 0) out = `<|tools|>${JSON.stringify(tools)}\n`;
  for (let i = 0; i < messages.length && out.length < limit; i++) {
    const m = messages[i];
    if (typeof m !== 'object' || m === null) continue;
    const role = (m as { role?: unknown }).role;
    out += `<|${typeof role === 'string' ? role : ''}|>`;
    out += contentText((m as { content?: unknown }).content);
    out += '\n';
  }
  return out.length > limit ? out.slice(0, limit) : out;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content == null ? '' : JSON.stringify(content);
  let out = '';
  for (const part of content) {
    if (typeof part !== 'object' || part === null) continue;
    const p = part as { type?: unknown; text?: unknown; image_url?: { url?: unknown } };
    if (typeof p.text === 'string') out += p.text;
    else if (p.image_url && typeof p.image_url.url === 'string') out += `<|image|>${p.image_url.url}`;
    else out += JSON.stringify(part);
  }
  return out;
}

/** A list prompt: strings joined by newlines, or token ids joined by commas. */
function renderList(items: readonly unknown[], limit: number): string {
  let out = '';
  for (let i = 0; i < items.length && out.length < limit; i++) {
    const it = items[i];
    if (typeof it === 'string') out += i === 0 ? it : `\n${it}`;
    else if (typeof it === 'number') out += i === 0 ? String(it) : `,${it}`;
    else if (Array.isArray(it)) out += `${i === 0 ? '' : '\n'}${it.join(',')}`;
  }
  return out.length > limit ? out.slice(0, limit) : out;
}
