import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { MODEL_CONFIGS } from '../../test/helpers/tokenizers.js';
import { SeededRng } from '../util/rng.js';
import { ChatTemplate } from './chat-template.js';
import { compileTemplate, Unsupported } from './jinja-compiler.js';

type Vars = Record<string, unknown>;
type Outcome = { ok: true; text: string } | { ok: false; error: unknown };

function outcome(f: () => string): Outcome {
  try {
    return { ok: true, text: f() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The library's rendering and the compiled form's, of one template and variables. */
function both(source: string, vars: Vars): { library: Outcome; compiled: Outcome } {
  const template = new Template(source);
  const library = outcome(() => template.render(vars));
  const compiled = outcome(() => compileTemplate(template.parsed)(vars));
  return { library, compiled };
}

/**
 * The compiler's contract on one case: a compiled result equals the library's; where the library
 * fails, the compiled form does not render. `exact`: the compiled form must also render whenever
 * the library does (no fallback), so a compiler that gives up on everything fails the test.
 */
function expectContract(source: string, vars: Vars, exact: boolean): void {
  const { library, compiled } = both(source, vars);
  const where = `${source}\nwith ${JSON.stringify(vars)}`;
  if (compiled.ok) {
    expect(library, where).toEqual({ ok: true, text: compiled.text });
  } else {
    expect(compiled.error, where).toBeInstanceOf(Error);
    if (exact && library.ok) expect.fail(`fell back where the library renders: ${where}\n${compiled.error}`);
  }
}

interface Construct {
  readonly name: string;
  readonly source: string;
  readonly vars: readonly Vars[];
  /** Every var set the library renders must render compiled (default true). */
  readonly exact?: boolean;
}

const CONSTRUCTS: readonly Construct[] = [
  {
    name: 'loop variables and else',
    source:
      '{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}|{% else %}empty{% endfor %}',
    vars: [{ xs: [] }, { xs: [1] }, { xs: ['a', 'b', 'c'] }],
  },
  {
    name: 'previtem and nextitem',
    source: '{% for x in xs %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}',
    vars: [{ xs: ['a', 'b', 'c'] }, { xs: [1] }],
  },
  {
    name: 'break and continue',
    source:
      '{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}<{{ x }}>{% else %}none{% endfor %}',
    vars: [{ xs: [1, 2, 3, 4, 5] }, { xs: [2] }, { xs: [4, 1] }, { xs: [] }],
  },
  {
    name: 'filtered loop',
    source: '{% for x in xs if x > 1 %}{{ x }}@{{ loop.index }}{% else %}-{% endfor %}',
    vars: [{ xs: [1, 2, 3] }, { xs: [0] }],
  },
  {
    name: 'unpacking, items and keys',
    source:
      '{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}{% for k, v in d|items %}{{ k }}{% endfor %}{% for k in d %}[{{ k }}]{% endfor %}',
    vars: [{ d: { a: 1, b: 'x' } }, { d: {} }],
  },
  {
    name: 'a loop keeps one scope for all iterations',
    source: '{% set x = 1 %}{% for i in xs %}{{ x }}{% set x = i %}{% endfor %}{{ x }}',
    vars: [{ xs: [5, 6] }, { xs: [] }],
  },
  {
    name: 'namespace',
    source:
      "{% set ns = namespace(a=0, b='s') %}{% for i in xs %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}{{ ns.b }}{{ ns.c is defined }}",
    vars: [{ xs: [1, 2, 3] }, { xs: [] }],
  },
  {
    name: 'namespace is declared in every scope',
    source:
      '{% set namespace = 5 %}{{ namespace }}{% for i in xs %}{% set n = namespace(x=i) %}{{ n.x }}{% endfor %}',
    vars: [{ xs: [7] }],
  },
  {
    name: 'string methods, indexing and slicing',
    source:
      "{{ s.startswith('a') }}{{ s.endswith(('x', 'c')) }}{{ s.split(',') | length }}{{ s.split(',', 1)[-1] }}|{{ s.strip() }}|{{ s.lstrip('\\n') }}|{{ s.rstrip() }}|{{ s.upper() }}{{ s.lower() }}{{ s.replace('a', 'b') }}{{ s[1] }}{{ s[-1] }}{{ s[::-1] }}{{ s[1:3] }}{{ s[::2] }}{{ s.length }}{{ s|length }}{{ s|trim }}{{ s|upper }}",
    vars: [{ s: 'abc' }, { s: ' a,b,c\n' }, { s: '' }, { s: 'é👍x,a' }],
  },
  {
    name: 'membership',
    source: "{{ 'a' in s }}{{ 'a' not in s }}{{ 1 in xs }}{{ 'k' in d }}{{ 'k' not in d }}{{ 'z' in u }}",
    vars: [
      { s: 'cat', xs: [1, 2], d: { k: 0 } },
      { s: '', xs: [], d: {} },
    ],
  },
  {
    name: 'integer arithmetic and comparisons',
    source:
      "{{ a + b }} {{ a - b }} {{ a * b }} {{ a // b }} {{ a % b }} {{ a < b }} {{ a > b }} {{ a <= b }} {{ a >= b }} {{ -a }} {{ a ~ b }} {{ 'x' + a }} {{ a ~ u }}",
    vars: [
      { a: 7, b: 2 },
      { a: -7, b: 2 },
      { a: 0, b: 5 },
    ],
  },
  {
    name: 'loose equality',
    source: '{{ a == b }}{{ a != b }}',
    vars: [
      { a: 1, b: '1' },
      { a: null, b: null },
      { a: 'x', b: 'x' },
      { b: null },
      { a: true, b: 1 },
      { a: 0, b: '' },
    ],
  },
  {
    name: 'tests',
    source:
      '{{ x is defined }}{{ x is undefined }}{{ x is none }}{{ x is string }}{{ x is number }}{{ x is integer }}{{ x is boolean }}{{ x is true }}{{ x is false }}{{ x is mapping }}{{ x is iterable }}{{ x is sequence }}{{ x is not none }}',
    vars: [
      {},
      { x: null },
      { x: 'a' },
      { x: 3 },
      { x: 2.5 },
      { x: true },
      { x: false },
      { x: {} },
      { x: [] },
      { x: [1] },
    ],
  },
  {
    name: 'filters',
    source:
      "{{ xs|first }}{{ xs|last }}{{ xs|length }}{{ xs|reverse|join(',') }}{{ xs|join }}{{ d|tojson }}{{ xs|tojson }}{{ d|tojson(indent=2) }}{{ d|tojson(sort_keys=true) }}{{ d|tojson(ensure_ascii=true) }}{{ d|tojson(separators=(',', ':')) }}{{ u|default('dflt') }}{{ ''|default('e', true) }}{{ n|string }}{{ d|length }}{{ xs|list|length }}{{ 'q'|safe }}",
    vars: [
      { xs: ['b', 'a'], d: { k: 'é', a: [1, 2.5, { z: null }], b: true }, n: 4 },
      { xs: ['z'], d: {}, n: -1 },
    ],
  },
  {
    name: 'ternary, select, and/or, not',
    source: "{{ 'y' if c else 'n' }}{{ (c and 'A') or 'B' }}{{ 'S' if c }}{{ not c }}{{ c or 'fallback' }}",
    vars: [{ c: true }, { c: false }, { c: '' }, { c: 'x' }, { c: 0 }, { c: [] }, {}],
  },
  {
    name: 'member access and dict methods',
    source:
      "{{ d.a }}{{ d['b'] }}{{ d.missing }}{{ d.get('a') }}{{ d.get('missing', 'dv') }}{{ d.get('missing') }}{{ d.get('b') }}{{ xs[0] }}{{ xs[-1] }}{{ xs[5] }}{{ u.x }}{{ d.keys()|length }}{{ d.values()|length }}{{ xs.length }}",
    vars: [{ d: { a: '1', b: null }, xs: [1, 2] }],
  },
  {
    name: 'set blocks and unpacking sets',
    source: '{% set t %}in{{ 1 }}{% endset %}{{ t }}{% set a, b = xs %}{{ a }}{{ b }}',
    vars: [{ xs: ['p', 'q'] }, { xs: ['p'] }],
  },
  {
    name: 'range',
    source:
      '{% for i in range(n) %}{{ i }}{% endfor %};{% for i in range(1, n, 2) %}{{ i }}{% endfor %};{% for i in range(n, 0, -2) %}{{ i }}{% endfor %}',
    vars: [{ n: 0 }, { n: 5 }],
  },
  {
    name: 'whitespace control and comments',
    source: "  {#- c -#}  {%- if true -%}  a  {%- endif %}\n b {{- ' c ' -}} d\n{% if false %}x{% endif %}\n",
    vars: [{}],
  },
  {
    name: 'containers written out',
    source: '{{ xs }}|{{ d }}|{{ b }}',
    vars: [{ xs: [1, 'a', null, true], d: { a: [true], s: 'q"' }, b: false }],
  },
  {
    name: 'chat-template shapes',
    source:
      "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' and loop.first %}<<{{ m['content'] | trim }}>>{% elif m.role in ['user', 'assistant'] %}[{{ m.role | upper }}]{{ m.content }}{% endif %}{% endfor %}{% if add_generation_prompt %}[A]{% endif %}",
    vars: [
      {
        bos_token: '<s>',
        add_generation_prompt: true,
        messages: [
          { role: 'system', content: '  sys  ' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'yo' },
        ],
      },
      { bos_token: '', add_generation_prompt: false, messages: [] },
    ],
  },
];

/** Cases outside what the compiler mirrors: it must not render them (the library may or may not). */
const FALLBACKS: readonly Construct[] = [
  { name: 'floats in arithmetic', source: '{{ a + b }}', vars: [{ a: 2.5, b: 1 }] },
  { name: 'float output', source: '{{ a }}', vars: [{ a: 0.5 }] },
  { name: 'division', source: '{{ a / b }}', vars: [{ a: 4, b: 2 }] },
  { name: 'macros', source: '{% macro f(x) %}[{{ x }}]{% endmacro %}{{ f(1) }}', vars: [{}] },
  {
    name: 'raise_exception',
    source: "{% if x %}{{ raise_exception('bad') }}{% endif %}ok",
    vars: [{ x: true }],
  },
  {
    name: 'unpacking a tuple in a loop',
    source: '{% for a, b in [(1, 2)] %}{{ a }}{% endfor %}',
    vars: [{}],
  },
  { name: 'tojson of a tuple', source: '{{ (1, 2)|tojson }}', vars: [{}] },
  { name: 'first of an empty list', source: '{{ xs|first }}', vars: [{ xs: [] }] },
  { name: 'a variable named as a global', source: '{{ range }}', vars: [{ range: 1 }] },
  { name: 'member of none', source: '{{ x.startswith("a") }}', vars: [{ x: null }] },
  { name: 'undefined in a list', source: '{{ u in xs }}', vars: [{ xs: [1] }] },
  { name: 'comparison of strings', source: "{{ 'a' < 'b' }}", vars: [{}] },
];

describe('compileTemplate: the library’s output or Unsupported', () => {
  for (const c of CONSTRUCTS) {
    it(c.name, () => {
      for (const vars of c.vars) expectContract(c.source, vars, c.exact ?? true);
    });
  }

  for (const c of FALLBACKS) {
    it(`does not render: ${c.name}`, () => {
      for (const vars of c.vars) {
        const { compiled } = both(c.source, vars);
        expect(compiled.ok, c.source).toBe(false);
        if (!compiled.ok) expect(compiled.error).toBeInstanceOf(Unsupported);
      }
    });
  }
});

/** Seeded chat requests with the shapes real traffic has: reasoning, tool calls, tools, odd whitespace. */
function conversations(seed: number, count: number, rich: boolean): Vars[] {
  const rng = new SeededRng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  const words = ['alpha', 'beta', 'gamma', 'naïve', 'ключ', '数据', '🙂', 'x=1;', '\n', '  ', '\t', '<b>'];
  const text = (n: number): string =>
    Array.from({ length: n }, () => pick(words)).join(pick([' ', '', '\n']));
  const content = (): string => {
    const body = text(1 + Math.floor(rng.next() * 12));
    if (!rich) return body;
    const r = rng.next();
    if (r < 0.15) return `<think>\n${text(4)}\n</think>\n\n${body}`;
    if (r < 0.2) return `${text(2)}</think>${body}`;
    if (r < 0.3) return `<tool_response>${body}</tool_response>`;
    if (r < 0.35) return '';
    return body;
  };
  const toolCall = () => ({
    type: 'function',
    function: {
      name: pick(['get_weather', 'lookup', 'calc']),
      arguments:
        rng.next() < 0.5 ? '{"q": "x"}' : { city: text(1), days: 3, ratio: 0.25, nested: { ok: true } },
    },
  });
  const out: Vars[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rng.next() * 7);
    const messages: Vars[] = [];
    if (rng.next() < 0.6) messages.push({ role: 'system', content: content() });
    for (let k = 0; k < n; k++) {
      const role = rich
        ? pick(['user', 'assistant', 'user', 'assistant', 'tool', 'system'])
        : k % 2
          ? 'assistant'
          : 'user';
      const m: Vars = { role, content: content() };
      if (rich && role === 'assistant') {
        if (rng.next() < 0.25)
          m.tool_calls = Array.from({ length: 1 + Math.floor(rng.next() * 2) }, toolCall);
        if (rng.next() < 0.15) m.reasoning_content = rng.next() < 0.5 ? text(3) : null;
      }
      messages.push(m);
    }
    const vars: Vars = {
      bos_token: '<s>',
      eos_token: '</s>',
      add_generation_prompt: rng.next() < 0.7,
      messages,
    };
    if (rich && rng.next() < 0.3) {
      vars.tools = [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: `Weather ${text(2)}`,
            parameters: {
              type: 'object',
              properties: { city: { type: 'string' }, scale: { enum: ['C', 'F'] } },
            },
          },
        },
      ];
    }
    if (rich && rng.next() < 0.3) vars.enable_thinking = rng.next() < 0.5;
    out.push(vars);
  }
  return out;
}

describe('compiled real models’ chat templates', () => {
  for (const [model, path] of Object.entries(MODEL_CONFIGS)) {
    const config = JSON.parse(readFileSync(path, 'utf8')) as { chat_template: string };
    it(`${model}: plain conversations all render compiled, as the library renders them`, () => {
      for (const vars of conversations(11, 150, false)) expectContract(config.chat_template, vars, true);
    });
    it(`${model}: reasoning, tool calls and tools render as the library renders them`, () => {
      const template = new Template(config.chat_template);
      const compiled = compileTemplate(template.parsed);
      let rendered = 0;
      let libraryRendered = 0;
      for (const vars of conversations(12, 300, true)) {
        const library = outcome(() => template.render(vars));
        const mine = outcome(() => compiled(vars));
        if (library.ok) libraryRendered++;
        if (mine.ok) {
          rendered++;
          expect(library, JSON.stringify(vars)).toEqual({ ok: true, text: mine.text });
        }
      }
      // everything the library renders of these shapes is in the compiled subset
      expect(rendered).toBe(libraryRendered);
      expect(libraryRendered).toBeGreaterThan(0);
    });
  }
});

describe('ChatTemplate: compiled with two checks, the library otherwise', () => {
  const qwen3 = (JSON.parse(readFileSync(MODEL_CONFIGS.qwen3!, 'utf8')) as { chat_template: string })
    .chat_template;
  const base = { bos_token: '', eos_token: '<|im_end|>', add_generation_prompt: true };
  const messages = [
    { role: 'system', content: 'S' },
    { role: 'user', content: 'Q' },
  ];

  it('renders Qwen3’s template compiled, and counts it', () => {
    const t = new ChatTemplate(qwen3, base);
    expect(t.stats).toMatchObject({ kind: 'compiled', compiled: 0, fallbacks: 0 });
    expect(t.render({ ...base, messages })).toBe(
      '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(t.stats.compiled).toBe(1);
  });

  it('hands a request outside the compiled subset to the library', () => {
    const t = new ChatTemplate('{% for m in messages %}{{ m.content }}{{ x }}{% endfor %}', base);
    expect(t.stats.kind).toBe('compiled');
    expect(t.render({ ...base, messages, x: 0.5 })).toBe('S0.5Q0.5');
    expect(t.stats).toMatchObject({ compiled: 0, fallbacks: 1 });
  });

  it('a template with syntax the compiler does not cover is rendered by the library, and says why', () => {
    const t = new ChatTemplate(
      '{% macro m(c) %}<{{ c }}>{% endmacro %}{% for x in messages %}{{ m(x.content) }}{% endfor %}',
      base,
    );
    expect(t.stats).toMatchObject({ kind: 'interpreted', reason: 'not compiled: syntax Macro' });
    expect(t.render({ ...base, messages })).toBe('<S><Q>');
  });

  it('a compiled form that differs on a load-time probe is not used', () => {
    const t = new ChatTemplate(qwen3, base, {
      compile: (p) => (v) => compileTemplate(p)(v).replace('<|im_end|>', ''),
    });
    expect(t.stats).toMatchObject({
      kind: 'interpreted',
      reason: 'differed from the library on a load-time probe',
    });
    expect(t.render({ ...base, messages })).toContain('S<|im_end|>');
  });

  it('the sampled check catches a difference after load and returns the library’s text from then on', () => {
    const t = new ChatTemplate(qwen3, base, {
      verifyEvery: 3,
      // a compiled form that goes wrong on requests carrying `wrong` (none of the load-time probes do)
      compile: (p) => {
        const good = compileTemplate(p);
        return (v) => (v.wrong ? `${good(v)}!` : good(v));
      },
    });
    expect(t.stats.kind).toBe('compiled');
    const expected = new Template(qwen3).render({ ...base, messages });
    const right = Array.from({ length: 3 }, () => t.render({ ...base, messages })); // the 3rd is checked
    expect(right).toEqual([expected, expected, expected]);
    expect(t.stats.kind).toBe('compiled');
    const wrong = Array.from({ length: 3 }, () => t.render({ ...base, messages, wrong: true }));
    // renders 4 and 5 go out unchecked (the sampling's price); the 6th is checked and corrected
    expect(wrong).toEqual([`${expected}!`, `${expected}!`, expected]);
    expect(t.stats).toMatchObject({ kind: 'interpreted', reason: 'differed from the library on a request' });
    expect(t.render({ ...base, messages, wrong: true })).toBe(expected);
  });

  it('can be turned off', () => {
    const t = new ChatTemplate(qwen3, base, { compiled: false });
    expect(t.stats).toMatchObject({ kind: 'interpreted', reason: 'disabled' });
  });
});

describe('strip with an argument follows Python’s rule, in the library (corrected) and compiled', () => {
  // Python: '\n  hi  \n'.lstrip('\n') == '  hi  \n'; .strip('\n') == '  hi  '; .rstrip('\n ') == '\n  hi'
  const cases: [string, string, string][] = [
    ["{{ s.lstrip('\\n') }}", '\n  hi  \n', '  hi  \n'],
    ["{{ s.strip('\\n') }}", '\n  hi  \n', '  hi  '],
    ["{{ s.rstrip('\\n ') }}", '\n  hi  \n', '\n  hi'],
    ["{{ s.strip('xy') }}", 'xyhixyx', 'hi'],
    ["{{ s.strip('🙂') }}", '🙂a🙂🙂', 'a'],
    ["{{ s.lstrip('ab') }}", 'ab', ''],
    ['{{ s.strip() }}', ' \t hi \n', 'hi'],
    ['{{ s.lstrip(none) }}', ' \t hi ', 'hi '],
  ];
  for (const [source, s, expected] of cases) {
    it(`${source} of ${JSON.stringify(s)}`, () => {
      const t = new ChatTemplate(source, {});
      expect(new Template(source).render({ s })).toBe(expected);
      expect(compileTemplate(new Template(source).parsed)({ s })).toBe(expected);
      expect(t.render({ s })).toBe(expected);
    });
  }
});
