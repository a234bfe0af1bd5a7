/**
 * Rewrites the model name back in responses when the gateway rewrote it in the request (an
 * InferenceModel target draw or an InferenceModelRewrite): the model server answers with the name it
 * was sent (`upstream`) and the client must see the name it asked for (`client`).
 *
 * The rewrite is textual on the JSON member `"model":"<upstream>"` (the compact form model servers
 * emit), so bytes other than the name are left exactly as the server sent them. A `"model"` member
 * written with other spacing falls back to parse → replace → stringify.
 */
export class ModelRewriter {
  private readonly needle: string;
  private readonly replacement: string;

  constructor(
    readonly upstream: string,
    readonly client: string,
  ) {
    this.needle = `"model":${JSON.stringify(upstream)}`;
    this.replacement = `"model":${JSON.stringify(client)}`;
  }

  /** The JSON text with every `"model":"<upstream>"` member naming `client` instead. */
  rewriteText(text: string): string {
    if (text.includes(this.needle)) return text.replaceAll(this.needle, this.replacement);
    if (!text.includes('"model"')) return text;
    // Unusual spacing: fall back to a structural rewrite of the top-level member.
    try {
      const obj: unknown = JSON.parse(text);
      if (typeof obj === 'object' && obj !== null && (obj as { model?: unknown }).model === this.upstream) {
        (obj as { model: string }).model = this.client;
        return JSON.stringify(obj);
      }
    } catch {
      // Not JSON: leave it alone.
    }
    return text;
  }

  rewriteBuffer(body: Buffer): Buffer {
    const text = body.toString('utf8');
    const out = this.rewriteText(text);
    return out === text ? body : Buffer.from(out, 'utf8');
  }
}
