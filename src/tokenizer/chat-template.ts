/**
 * A model's chat template: parsed once by @huggingface/jinja, rendered by the compiled form
 * (jinja-compiler.ts) when it covers the template and the request, else by the library's interpreter.
 * The output is the library's in both cases (the compiler's contract); two checks keep it so for
 * templates nobody has tested here: at load, a few conversations are rendered both ways and any
 * difference disables the compiled form; after that, one render in `verifyEvery` is rendered both ways
 * again, and a difference disables it for good (the library's text is returned).
 */
import { Environment, Template } from '@huggingface/jinja';
import { type CompiledTemplate, compileTemplate, stripChars } from './jinja-compiler.js';

/**
 * @huggingface/jinja (0.5.13) ignores the argument of `str.strip/lstrip/rstrip`: `'\n  x'.lstrip('\n')`
 * gives `'x'` where Python's Jinja — the engine's — gives `'  x'`. Qwen3's template strips reasoning
 * and answers that way, so the library's prompt lost the spaces the engine's keeps. Corrected once,
 * here, on the library's string values: with a string argument the three strip only those
 * characters (Python's rule); without one they do what the library does. The compiled form follows
 * the corrected rule, so its contract (the library's text) holds (jinja-compiler.test.ts checks both
 * against Python's rule).
 */
function correctStripArguments(): void {
  const sample = new Environment().set('s', 'x') as object;
  const proto = Object.getPrototypeOf(sample) as object;
  const original = Object.getOwnPropertyDescriptor(proto, 'builtins')?.get;
  type Fn = { value: (args: { type: string; value: unknown }[], scope: unknown) => unknown };
  const builtins = original?.call(sample) as Map<string, Fn> | undefined;
  const FunctionValue = builtins?.get('strip')?.constructor as (new (f: Fn['value']) => Fn) | undefined;
  const StringValue = (proto as { constructor: new (v: string) => unknown }).constructor;
  if (!original || !FunctionValue) throw new Error('@huggingface/jinja: string builtins not where expected');
  const modes = [
    ['strip', 'both'],
    ['lstrip', 'start'],
    ['rstrip', 'end'],
  ] as const;
  Object.defineProperty(proto, 'builtins', {
    configurable: true,
    get(this: { value: string; pythonStrip?: true }) {
      const map = original.call(this) as Map<string, Fn>;
      if (this.pythonStrip) return map;
      this.pythonStrip = true;
      for (const [name, side] of modes) {
        const library = map.get(name)!;
        map.set(
          name,
          new FunctionValue((args, scope) =>
            args[0]?.type === 'StringValue'
              ? new StringValue(stripChars(this.value, args[0].value as string, side))
              : library.value(args, scope),
          ),
        );
      }
      return map;
    },
  });
}
correctStripArguments();

export interface ChatTemplateStats {
  /** Who renders: the compiled form (with per-request fallback) or the library alone. */
  kind: 'compiled' | 'interpreted';
  /** Why the library renders alone (the construct the compiler does not cover, or a difference). */
  reason?: string;
  /** Renders returned by the compiled form. */
  compiled: number;
  /** Renders returned by the library (`fallbacks` of them handed over by the compiled form). */
  library: number;
  fallbacks: number;
}

export interface ChatTemplateOptions {
  /** Use the compiled form when it covers the template (default true). False: the library only. */
  compiled?: boolean;
  /** Also render one request in this many with the library and compare (default 1024; 0: never). */
  verifyEvery?: number;
  /** The compiler (default compileTemplate); tests of the two checks give a faulty one. */
  compile?: (program: Template['parsed']) => CompiledTemplate;
}

type Vars = Readonly<Record<string, unknown>>;

/** Conversations rendered both ways at load. */
const PROBES: readonly (readonly { role: string; content: string }[])[] = [
  [{ role: 'user', content: 'Hello there.' }],
  [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'Name a prime.' },
  ],
  [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'One?' },
    { role: 'assistant', content: '<think>\nsmall\n</think>\n\nOne.' },
    { role: 'user', content: 'Two?' },
    { role: 'assistant', content: 'Two.' },
    { role: 'user', content: '  Three?\n' },
  ],
  [
    { role: 'user', content: 'a' },
    { role: 'user', content: '' },
  ],
];

export class ChatTemplate {
  readonly stats: ChatTemplateStats;
  private readonly library: Template;
  private compiled: CompiledTemplate | undefined;
  private readonly verifyEvery: number;

  /** Throws (the library's parse error) when `source` is not a template. */
  constructor(source: string, base: Vars, opts: ChatTemplateOptions = {}) {
    this.library = new Template(source);
    this.verifyEvery = Math.max(0, Math.floor(opts.verifyEvery ?? 1024));
    let compiled: CompiledTemplate | undefined;
    let reason: string | undefined;
    if (opts.compiled === false) {
      reason = 'disabled';
    } else {
      try {
        compiled = (opts.compile ?? compileTemplate)(this.library.parsed);
        reason = probe(this.library, compiled, base);
      } catch (e) {
        reason = (e as Error).message;
      }
    }
    this.compiled = reason === undefined ? compiled : undefined;
    this.stats = {
      kind: this.compiled ? 'compiled' : 'interpreted',
      reason,
      compiled: 0,
      library: 0,
      fallbacks: 0,
    };
  }

  render(vars: Vars): string {
    const compiled = this.compiled;
    if (compiled) {
      let out: string | undefined;
      try {
        out = compiled(vars);
      } catch {
        // outside what the compiled form mirrors (or the library's own error): the library decides
        this.stats.fallbacks++;
      }
      if (out !== undefined) {
        const n = ++this.stats.compiled;
        if (this.verifyEvery === 0 || n % this.verifyEvery !== 0) return out;
        const reference = this.library.render(vars as Record<string, unknown>);
        if (reference === out) return out;
        this.disable('differed from the library on a request');
        this.stats.compiled--;
        this.stats.library++;
        return reference;
      }
    }
    const text = this.library.render(vars as Record<string, unknown>);
    this.stats.library++;
    return text;
  }

  private disable(reason: string): void {
    this.compiled = undefined;
    this.stats.kind = 'interpreted';
    this.stats.reason = reason;
  }
}

/** undefined when the compiled form agrees with the library on every probe, else why not. */
function probe(library: Template, compiled: CompiledTemplate, base: Vars): string | undefined {
  let rendered = 0;
  let fellBack = 0;
  for (const messages of PROBES) {
    for (const addGenerationPrompt of [true, false]) {
      const vars = { ...base, add_generation_prompt: addGenerationPrompt, messages };
      let expected: string | undefined;
      try {
        expected = library.render(vars);
      } catch {
        continue; // the template refuses this conversation; nothing to compare
      }
      rendered++;
      let got: string;
      try {
        got = compiled(vars);
      } catch {
        fellBack++; // such requests fall back to the library
        continue;
      }
      if (got !== expected) return 'differed from the library on a load-time probe';
    }
  }
  return rendered > 0 && fellBack === rendered
    ? 'the compiled form fell back on every load-time probe'
    : undefined;
}
