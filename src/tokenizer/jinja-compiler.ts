/**
 * A compiler from @huggingface/jinja's syntax tree to JavaScript closures over plain values, for the
 * chat-template path the precise scorer runs on every request. The library's interpreter wraps every
 * value it touches (each message, each string, each `loop`) in runtime objects and allocates about
 * 110 KB per render of an 8,000-token conversation, which makes the young-generation collections
 * that dominate the scorer's p99; the closures here allocate little beyond the output.
 *
 * Contract: the library stays the reference. A compiled template either returns exactly the string
 * the library's `Template.render` returns for the same variables, or throws `Unsupported` (and the
 * caller renders with the library). So every construct is mirrored from the library's own rules —
 * also where they differ from Python's Jinja, except the argument of strip/lstrip/rstrip, which
 * chat-template.ts corrects in the library itself — and anything not mirrored throws `Unsupported`: at compile time for syntax (macros, call blocks,
 * filter blocks, dict literals, float literals, unknown filters and tests), at render time for
 * values outside the mirrored cases (floats in arithmetic or output, `/`, comparisons of
 * non-numbers, anything the library would answer with an error).
 *
 * Values: strings, numbers, booleans, null (none), undefined (Jinja's Undefined), arrays, plain
 * objects (from JSON), and the two kinds below the library makes itself: a namespace and a loop.
 */
import type { Template } from '@huggingface/jinja';

/** The compiled form cannot render these variables exactly; render with the library instead. */
export class Unsupported extends Error {
  constructor(what: string) {
    super(`not compiled: ${what}`);
    this.name = 'Unsupported';
  }
}

type Value = unknown;
type Program = Template['parsed'];
/** A syntax node as the library's parser builds it; fields are read per `type`. */
interface Node {
  readonly type: string;
  readonly [field: string]: unknown;
}

type Expr = (scope: Scope) => Value;
type Block = (scope: Scope) => string;

/** A compiled template: the variables as `Template.render` takes them → the rendered text. */
export type CompiledTemplate = (vars: Readonly<Record<string, unknown>>) => string;

/** `namespace(...)`: attributes settable from inside loops. */
class Namespace {
  readonly attrs = new Map<string, Value>();
}

/** `loop` inside a for body. */
class Loop {
  constructor(
    readonly index0: number,
    readonly items: readonly Value[],
  ) {}
  attr(name: string): Value {
    const i = this.index0;
    const n = this.items.length;
    switch (name) {
      case 'index':
        return i + 1;
      case 'index0':
        return i;
      case 'revindex':
        return n - i;
      case 'revindex0':
        return n - i - 1;
      case 'first':
        return i === 0;
      case 'last':
        return i === n - 1;
      case 'length':
        return n;
      case 'previtem':
        return i > 0 ? this.items[i - 1] : undefined;
      case 'nextitem':
        return i < n - 1 ? this.items[i + 1] : undefined;
      default:
        // the library's loop is a mapping: other names reach its dict methods or are Undefined
        if (OBJECT_METHODS.has(name)) throw new Unsupported(`loop.${name}`);
        return undefined;
    }
  }
}

/** The library's globals that a call can name. */
const NAMESPACE = Symbol('namespace');
const RANGE = Symbol('range');
const UNSUPPORTED_GLOBAL = Symbol('unsupported global');

/** Variable scopes as the library keeps them: one per render, one per for loop (not per iteration). */
class Scope {
  readonly vars = new Map<string, Value>();
  constructor(readonly parent: Scope | undefined) {}
  lookup(name: string): Value {
    // every library environment declares its own `namespace`: the innermost one answers
    if (name === 'namespace') return this.vars.has(name) ? this.vars.get(name) : NAMESPACE;
    for (let s: Scope | undefined = this; s; s = s.parent) {
      if (s.vars.has(name)) return s.vars.get(name);
    }
    return undefined;
  }
}

const OBJECT_METHODS = new Set(['get', 'items', 'keys', 'values', 'dictsort']);

/** Arrays made by a tuple literal: the library's TupleValue, which some of its paths refuse. */
const TUPLES = new WeakSet<readonly Value[]>();

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

function isPlainObject(v: Value): v is Record<string, Value> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Namespace) &&
    !(v instanceof Loop)
  );
}

/** A value the library holds as an IntegerValue (JSON numbers are integers when Number.isInteger). */
function isInt(v: Value): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** The library's `__bool__`. */
function truthy(v: Value): boolean {
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number' || typeof v === 'boolean') return v !== 0 && v !== false && !Number.isNaN(v);
  if (v === null || v === undefined) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Namespace) return true;
  if (v instanceof Loop) return true;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  throw new Unsupported('truth value of a global');
}

/** The text `{{ v }}` adds (the library's toString), or undefined for none/Undefined. */
function outputOf(v: Value): string | undefined {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return undefined;
  if (isInt(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v) || isPlainObject(v)) return toJson(v, NO_JSON_OPTIONS, 0, false);
  throw new Unsupported('output of this value');
}

interface JsonOptions {
  readonly indent: number | null;
  readonly ensureAscii: boolean;
  readonly sortKeys: boolean;
  readonly separators: readonly [string, string] | null;
}
const NO_JSON_OPTIONS: JsonOptions = { indent: null, ensureAscii: false, sortKeys: false, separators: null };

/** The library's `toJSON` over plain values (`tojson`, and arrays/objects written out). */
function toJson(v: Value, o: JsonOptions, depth: number, undefinedToNull: boolean): string {
  const [itemSep, keySep] = o.separators ?? (o.indent ? [',', ': '] : [', ', ': ']);
  if (v === null) return 'null';
  if (v === undefined) return undefinedToNull ? 'null' : 'undefined';
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'string') return o.ensureAscii ? asciiSafe(JSON.stringify(v)) : JSON.stringify(v);
  const isArray = Array.isArray(v);
  if (isArray && TUPLES.has(v)) throw new Unsupported('tojson of a tuple');
  if (!isArray && !isPlainObject(v) && !(v instanceof Namespace))
    throw new Unsupported('tojson of this value');
  const unit = o.indent ? ' '.repeat(o.indent) : '';
  const base = '\n' + unit.repeat(depth);
  const child = base + unit;
  if (isArray) {
    const core = v.map((x) => toJson(x, o, depth + 1, undefinedToNull));
    return o.indent && core.length > 0
      ? `[${child}${core.join(`${itemSep}${child}`)}${base}]`
      : `[${core.join(itemSep)}]`;
  }
  let entries: [string, Value][] =
    v instanceof Namespace ? [...v.attrs.entries()] : Object.entries(v as Record<string, Value>);
  if (o.sortKeys) entries = entries.sort(([a], [b]) => a.localeCompare(b));
  const core = entries.map(([key, value]) => {
    const k = o.ensureAscii ? asciiSafe(JSON.stringify(key)) : JSON.stringify(key);
    const item = `${k}${keySep}${toJson(value, o, depth + 1, undefinedToNull)}`;
    return o.indent ? `${child}${item}` : item;
  });
  return o.indent && core.length > 0 ? `{${core.join(itemSep)}${base}}` : `{${core.join(itemSep)}}`;
}

function asciiSafe(s: string): string {
  return s.replace(/[\x7f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** The library's `slice` (Python semantics for start/stop/step). */
function sliceOf<T>(items: readonly T[], start: number | undefined, stop: number | undefined, step = 1): T[] {
  const n = items.length;
  let a: number;
  let b: number;
  if (step >= 0) {
    a = start === undefined ? 0 : start < 0 ? Math.max(n + start, 0) : Math.min(start, n);
    b = stop === undefined ? n : stop < 0 ? Math.max(n + stop, 0) : Math.min(stop, n);
  } else {
    a = start === undefined ? n - 1 : start < 0 ? Math.max(n + start, -1) : Math.min(start, n - 1);
    b = stop === undefined ? -1 : stop < -1 ? Math.max(n + stop, -1) : Math.min(stop, n - 1);
  }
  const dir = Math.sign(step);
  const out: T[] = [];
  if (dir === 0) throw new Unsupported('slice step 0');
  for (let i = a; dir * i < dir * b; i += step) out.push(items[i]!);
  return out;
}

/** Member access (`a.b`, `a[b]`) as the library's evaluateMemberExpression, for non-call use. */
function member(obj: Value, key: Value): Value {
  if (isPlainObject(obj)) {
    if (typeof key !== 'string') throw new Unsupported('non-string key');
    if (Object.hasOwn(obj, key)) return obj[key];
    if (OBJECT_METHODS.has(key)) throw new Unsupported(`method ${key} as a value`);
    return undefined;
  }
  if (obj instanceof Namespace) {
    if (typeof key !== 'string') throw new Unsupported('non-string key');
    return obj.attrs.get(key);
  }
  if (obj instanceof Loop) {
    if (typeof key !== 'string') throw new Unsupported('non-string key');
    return obj.attr(key);
  }
  if (Array.isArray(obj) || typeof obj === 'string') {
    if (isInt(key)) {
      return typeof obj === 'string' ? obj.at(key) : obj.at(key);
    }
    if (key === 'length') return obj.length;
    throw new Unsupported('member of a sequence');
  }
  if (obj === null || obj === undefined) {
    if (typeof key !== 'string') throw new Unsupported('non-string key');
    return undefined;
  }
  throw new Unsupported('member of this value');
}

type Args = { positional: Value[]; keywords: Map<string, Value> | undefined };

function stringArg(v: Value, what: string): string {
  if (typeof v !== 'string') throw new Unsupported(`${what} argument`);
  return v;
}

/**
 * Python's `str.strip(chars)` (and lstrip / rstrip): the characters of `chars` (code points) removed
 * from the chosen ends. The library ignores the argument; chat-template.ts corrects it to this.
 */
export function stripChars(s: string, chars: string, side: 'both' | 'start' | 'end'): string {
  const set = new Set(Array.from(chars));
  let start = 0;
  let end = s.length;
  if (side !== 'end') {
    while (start < end) {
      const c = String.fromCodePoint(s.codePointAt(start)!);
      if (!set.has(c)) break;
      start += c.length;
    }
  }
  if (side !== 'start') {
    while (end > start) {
      const low = s.charCodeAt(end - 1);
      const width = low >= 0xdc00 && low <= 0xdfff && end - 2 >= start ? 2 : 1;
      if (!set.has(s.slice(end - width, end))) break;
      end -= width;
    }
  }
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** `s.name(args)` for the string methods the library has. */
function stringMethod(s: string, name: string, { positional: a, keywords }: Args): Value {
  if (keywords) throw new Unsupported('keyword arguments to a string method');
  switch (name) {
    case 'strip':
    case 'lstrip':
    case 'rstrip': {
      const chars = a[0];
      const side = name === 'strip' ? 'both' : name === 'lstrip' ? 'start' : 'end';
      if (typeof chars === 'string') return stripChars(s, chars, side);
      if (chars !== undefined && chars !== null) throw new Unsupported(`${name} argument`);
      return side === 'both' ? s.trim() : side === 'start' ? s.trimStart() : s.trimEnd();
    }
    case 'upper':
      return s.toUpperCase();
    case 'lower':
      return s.toLowerCase();
    case 'startswith':
    case 'endswith': {
      const p = a[0];
      const test = (x: string) => (name === 'startswith' ? s.startsWith(x) : s.endsWith(x));
      if (typeof p === 'string') return test(p);
      if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) return p.some(test);
      throw new Unsupported(`${name} argument`);
    }
    case 'split': {
      const sep = a[0] ?? null;
      const max = a.length > 1 ? a[1] : -1;
      if (typeof sep !== 'string' || sep === '' || !isInt(max)) throw new Unsupported('split arguments');
      const parts = s.split(sep);
      if (max >= 0 && parts.length > max) parts.push(parts.splice(max).join(sep));
      return parts;
    }
    case 'replace': {
      if (a.length !== 2) throw new Unsupported('replace arguments');
      // the library replaces by a Unicode regex: plain splitting agrees for whole, non-empty text
      if (typeof a[0] !== 'string' || a[0] === '' || /[\ud800-\udfff]/.test(a[0])) {
        throw new Unsupported('replace pattern');
      }
      return s.split(stringArg(a[0], 'replace')).join(stringArg(a[1], 'replace'));
    }
    default:
      throw new Unsupported(`string method ${name}`);
  }
}

/** `d.name(args)` for a plain object's dict methods. */
function objectMethod(o: Record<string, Value>, name: string, { positional: a, keywords }: Args): Value {
  if (keywords) throw new Unsupported('keyword arguments to a dict method');
  switch (name) {
    case 'get': {
      const key = a[0];
      if (typeof key !== 'string') throw new Unsupported('get key');
      if (Object.hasOwn(o, key)) return o[key];
      return a.length > 1 && a[1] !== undefined ? a[1] : null;
    }
    case 'items':
      return Object.entries(o).map(([k, v]) => [k, v]);
    case 'keys':
      return Object.keys(o);
    case 'values':
      return Object.values(o);
    default:
      throw new Unsupported(`dict method ${name}`);
  }
}

/** `a op b` as the library's evaluateBinaryExpression, for the mirrored cases. */
function binary(op: string, l: Value, r: Value): Value {
  switch (op) {
    case '==':
    case '!=': {
      if (!isPrimitive(l) || !isPrimitive(r)) throw new Unsupported('== of containers');
      // the library compares the wrapped JavaScript values loosely
      // biome-ignore lint/suspicious/noDoubleEquals: mirrors the library's loose comparison
      const equal = l == r;
      return op === '==' ? equal : !equal;
    }
  }
  if (typeof l === 'number' && typeof r === 'number' && op !== '~' && op !== '**') {
    if (!isInt(l) || !isInt(r)) throw new Unsupported('arithmetic on floats');
    switch (op) {
      case '+':
        return l + r;
      case '-':
        return l - r;
      case '*':
        return l * r;
      case '//':
        return Math.floor(l / r);
      case '%':
        return l % r;
      case '<':
        return l < r;
      case '>':
        return l > r;
      case '<=':
        return l <= r;
      case '>=':
        return l >= r;
      default:
        throw new Unsupported(`operator ${op} on numbers`);
    }
  }
  if (l === undefined || r === undefined) {
    if (r === undefined && (op === 'in' || op === 'not in')) return op === 'not in';
    if (op === '~' && l !== null && r !== null) {
      return (l === undefined ? '' : textOf(l)) + (r === undefined ? '' : textOf(r));
    }
    throw new Unsupported(`${op} with Undefined`);
  }
  if (l === null || r === null) throw new Unsupported(`${op} with none`);
  if (op === '~') return textOf(l) + textOf(r);
  if (Array.isArray(l) && Array.isArray(r) && op === '+') return l.concat(r);
  if (Array.isArray(r) && (op === 'in' || op === 'not in')) {
    if (!isPrimitive(l)) throw new Unsupported('in with a container');
    const found = r.some((x) => isPrimitive(x) && x === l);
    return op === 'in' ? found : !found;
  }
  if (op === '+' && (typeof l === 'string' || typeof r === 'string') && !Array.isArray(r)) {
    return textOf(l) + textOf(r);
  }
  if (typeof l === 'string' && typeof r === 'string' && (op === 'in' || op === 'not in')) {
    return op === 'in' ? r.includes(l) : !r.includes(l);
  }
  if (typeof l === 'string' && isPlainObject(r) && (op === 'in' || op === 'not in')) {
    const has = Object.hasOwn(r, l);
    return op === 'in' ? has : !has;
  }
  throw new Unsupported(`operator ${op}`);
}

function isPrimitive(v: Value): boolean {
  return (
    v === null || v === undefined || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
  );
}

/** `value.toString()` of the library for the values where it is plain. */
function textOf(v: Value): string {
  if (typeof v === 'string') return v;
  if (isInt(v)) return String(v);
  throw new Unsupported('text of this value');
}

/** The library's tests (`x is name`). */
const TESTS: ReadonlyMap<string, (v: Value) => boolean> = new Map([
  ['defined', (v: Value) => v !== undefined],
  ['undefined', (v: Value) => v === undefined],
  ['none', (v: Value) => v === null],
  ['string', (v: Value) => typeof v === 'string'],
  ['boolean', (v: Value) => typeof v === 'boolean'],
  ['true', (v: Value) => v === true],
  ['false', (v: Value) => v === false],
  ['number', (v: Value) => typeof v === 'number'],
  ['integer', (v: Value) => isInt(v)],
  ['mapping', (v: Value) => isPlainObject(v) || v instanceof Loop],
  ['iterable', (v: Value) => (Array.isArray(v) && !TUPLES.has(v)) || typeof v === 'string'],
  [
    'sequence',
    (v: Value) => Array.isArray(v) || isPlainObject(v) || v instanceof Loop || typeof v === 'string',
  ],
]);

/** Filters without arguments (`x | name`). */
function filter(name: string, v: Value): Value {
  if (name === 'safe') return v;
  if (name === 'tojson') return toJson(v, NO_JSON_OPTIONS, 0, true);
  if (Array.isArray(v)) {
    switch (name) {
      case 'list':
        return v;
      case 'first':
      case 'last':
        // the library hands back a bare undefined for an empty list, which it then fails on
        if (v.length === 0) throw new Unsupported(`${name} of an empty list`);
        return name === 'first' ? v[0] : v[v.length - 1];
      case 'length':
        return v.length;
      case 'reverse':
        return v.slice().reverse();
      case 'join':
        if (!v.every((x) => typeof x === 'string' || isInt(x))) throw new Unsupported('join of this list');
        return v.join('');
    }
  } else if (typeof v === 'string') {
    switch (name) {
      case 'length':
        return v.length;
      case 'upper':
        return v.toUpperCase();
      case 'lower':
        return v.toLowerCase();
      case 'trim':
        return v.trim();
      case 'string':
      case 'join':
        return v;
    }
  } else if (isInt(v)) {
    if (name === 'string') return String(v);
  } else if (isPlainObject(v)) {
    if (name === 'length') return Object.keys(v).length;
    if (name === 'items') return Object.entries(v).map(([k, x]) => [k, x]);
  }
  throw new Unsupported(`filter ${name}`);
}

class Compiler {
  block(statements: readonly Node[]): Block {
    const parts = statements.map((s) => this.statement(s));
    if (parts.length === 1) return parts[0]!;
    return (scope) => {
      let out = '';
      for (let i = 0; i < parts.length; i++) out += parts[i]!(scope);
      return out;
    };
  }

  statement(node: Node): Block {
    switch (node.type) {
      case 'StringLiteral': {
        const text = node.value as string;
        return () => text;
      }
      case 'Comment':
        return () => '';
      case 'If':
        return this.ifStatement(node);
      case 'For':
        return this.forStatement(node);
      case 'Set':
        return this.setStatement(node);
      case 'Break':
        return () => {
          throw BREAK;
        };
      case 'Continue':
        return () => {
          throw CONTINUE;
        };
      default: {
        const expr = this.expr(node);
        return (scope) => outputOf(expr(scope)) ?? '';
      }
    }
  }

  ifStatement(node: Node): Block {
    const test = this.expr(node.test as Node);
    const body = this.block(node.body as Node[]);
    const alternate = this.block(node.alternate as Node[]);
    return (scope) => (truthy(test(scope)) ? body(scope) : alternate(scope));
  }

  forStatement(node: Node): Block {
    const loopvar = node.loopvar as Node;
    const bind = this.binder(loopvar);
    let iterableNode = node.iterable as Node;
    let filterTest: Expr | undefined;
    if (iterableNode.type === 'SelectExpression') {
      filterTest = this.expr(iterableNode.test as Node);
      iterableNode = iterableNode.lhs as Node;
    }
    const iterable = this.expr(iterableNode);
    const body = this.block(node.body as Node[]);
    const otherwise = this.block(node.defaultBlock as Node[]);
    return (outer) => {
      const scope = new Scope(outer);
      let source = iterable(scope);
      if (isPlainObject(source)) source = Object.keys(source);
      if (!Array.isArray(source)) throw new Unsupported('for over this value');
      let items: readonly Value[] = source;
      if (filterTest || loopvar.type !== 'Identifier') {
        const kept: Value[] = [];
        for (const item of source) {
          if (loopvar.type !== 'Identifier' && (!Array.isArray(item) || TUPLES.has(item))) {
            throw new Unsupported('unpacking');
          }
          if (filterTest) {
            const test = new Scope(scope);
            bind(item, test);
            if (!truthy(filterTest(test))) continue;
          }
          kept.push(item);
        }
        items = kept;
      } else {
        items = source.slice();
      }
      let out = '';
      let none = true;
      for (let i = 0; i < items.length; i++) {
        scope.vars.set('loop', new Loop(i, items));
        bind(items[i], scope);
        try {
          out += body(scope);
        } catch (e) {
          if (e === CONTINUE) continue;
          if (e === BREAK) break;
          throw e;
        }
        none = false;
      }
      if (none) out += otherwise(scope);
      return out;
    };
  }

  /** Binds a for loop's variable(s) to one item. */
  binder(loopvar: Node): (item: Value, scope: Scope) => void {
    if (loopvar.type === 'Identifier') {
      const name = loopvar.value as string;
      return (item, scope) => void scope.vars.set(name, item);
    }
    if (loopvar.type !== 'TupleLiteral') throw new Unsupported(`loop variable ${loopvar.type}`);
    const names = (loopvar.value as Node[]).map((n) => {
      if (n.type !== 'Identifier') throw new Unsupported('nested unpacking');
      return n.value as string;
    });
    return (item, scope) => {
      const values = item as Value[];
      if (values.length !== names.length) throw new Unsupported('unpacking length');
      for (let j = 0; j < names.length; j++) scope.vars.set(names[j]!, values[j]);
    };
  }

  setStatement(node: Node): Block {
    const value: Expr =
      node.value !== null && node.value !== undefined
        ? this.expr(node.value as Node)
        : (
            (body) => (scope: Scope) =>
              body(scope)
          )(this.block(node.body as Node[]));
    const assignee = node.assignee as Node;
    if (assignee.type === 'Identifier') {
      const name = assignee.value as string;
      return (scope) => {
        scope.vars.set(name, value(scope));
        return '';
      };
    }
    if (assignee.type === 'MemberExpression') {
      const property = assignee.property as Node;
      if (property.type !== 'Identifier' || assignee.computed) throw new Unsupported('assignment target');
      const object = this.expr(assignee.object as Node);
      const name = property.value as string;
      return (scope) => {
        const v = value(scope);
        const target = object(scope);
        if (!(target instanceof Namespace)) throw new Unsupported('assignment to a non-namespace');
        target.attrs.set(name, v);
        return '';
      };
    }
    if (assignee.type === 'TupleLiteral') {
      const bind = this.binder(assignee);
      const n = (assignee.value as Node[]).length;
      return (scope) => {
        const v = value(scope);
        if (!Array.isArray(v) || v.length !== n) throw new Unsupported('unpacking in set');
        bind(v, scope);
        return '';
      };
    }
    throw new Unsupported(`assignment to ${assignee.type}`);
  }

  expr(node: Node): Expr {
    switch (node.type) {
      case 'StringLiteral':
      case 'IntegerLiteral': {
        const v = node.value;
        return () => v;
      }
      case 'Identifier': {
        const name = node.value as string;
        return (scope) => scope.lookup(name);
      }
      case 'ArrayLiteral': {
        const items = (node.value as Node[]).map((n) => this.expr(n));
        return (scope) => items.map((e) => e(scope));
      }
      case 'TupleLiteral': {
        const items = (node.value as Node[]).map((n) => this.expr(n));
        return (scope) => {
          const tuple = items.map((e) => e(scope));
          TUPLES.add(tuple);
          return tuple;
        };
      }
      case 'MemberExpression':
        return this.memberExpr(node);
      case 'CallExpression':
        return this.call(node);
      case 'BinaryExpression':
        return this.binaryExpr(node);
      case 'UnaryExpression': {
        const arg = this.expr(node.argument as Node);
        const op = (node.operator as { value: string }).value;
        if (op === 'not') return (scope) => !truthy(arg(scope));
        if (op === '-' || op === '+') {
          return (scope) => {
            const v = arg(scope);
            if (!isInt(v)) throw new Unsupported('sign of a non-integer');
            return op === '-' ? -v : v;
          };
        }
        throw new Unsupported(`unary ${op}`);
      }
      case 'TestExpression': {
        const operand = this.expr(node.operand as Node);
        const name = (node.test as Node).value as string;
        const test = TESTS.get(name);
        if (!test) throw new Unsupported(`test ${name}`);
        const negate = node.negate === true;
        return (scope) => test(operand(scope)) !== negate;
      }
      case 'FilterExpression':
        return this.filterExpr(node);
      case 'Ternary': {
        const cond = this.expr(node.condition as Node);
        const yes = this.expr(node.trueExpr as Node);
        const no = this.expr(node.falseExpr as Node);
        return (scope) => (truthy(cond(scope)) ? yes(scope) : no(scope));
      }
      case 'SelectExpression': {
        const lhs = this.expr(node.lhs as Node);
        const test = this.expr(node.test as Node);
        return (scope) => (truthy(test(scope)) ? lhs(scope) : undefined);
      }
      default:
        throw new Unsupported(`syntax ${node.type}`);
    }
  }

  memberExpr(node: Node): Expr {
    const object = this.expr(node.object as Node);
    const property = node.property as Node;
    if (node.computed && property.type === 'SliceExpression') {
      const opt = (n: unknown): Expr | undefined => (n ? this.expr(n as Node) : undefined);
      const start = opt(property.start);
      const stop = opt(property.stop);
      const step = opt(property.step);
      return (scope) => {
        const o = object(scope);
        const bound = (e: Expr | undefined): number | undefined => {
          const v = e ? e(scope) : undefined;
          if (v !== undefined && !isInt(v)) throw new Unsupported('slice bound');
          return v;
        };
        const a = bound(start);
        const b = bound(stop);
        const c = bound(step);
        if (Array.isArray(o)) return sliceOf(o, a, b, c);
        if (typeof o === 'string') return sliceOf(Array.from(o), a, b, c).join('');
        throw new Unsupported('slice of this value');
      };
    }
    if (node.computed) {
      const key = this.expr(property);
      return (scope) => {
        const o = object(scope);
        return member(o, key(scope));
      };
    }
    const key = property.type === 'IntegerLiteral' ? (property.value as number) : (property.value as string);
    return (scope) => member(object(scope), key);
  }

  /** Calls: the library's globals we mirror, and string and dict methods. */
  call(node: Node): Expr {
    const args = this.args(node.args as Node[]);
    const callee = node.callee as Node;
    if (callee.type === 'MemberExpression' && !callee.computed) {
      const object = this.expr(callee.object as Node);
      const name = (callee.property as Node).value;
      if (typeof name !== 'string') throw new Unsupported('call of an indexed member');
      return (scope) => {
        const o = object(scope);
        if (typeof o === 'string') return stringMethod(o, name, args(scope));
        if (isPlainObject(o) && !Object.hasOwn(o, name)) return objectMethod(o, name, args(scope));
        throw new Unsupported(`call of ${name}`);
      };
    }
    const fn = this.expr(callee);
    return (scope) => {
      const f = fn(scope);
      const a = args(scope);
      if (f === NAMESPACE) {
        if (a.positional.length > 0) throw new Unsupported('namespace with positional arguments');
        const ns = new Namespace();
        if (a.keywords) for (const [k, v] of a.keywords) ns.attrs.set(k, v);
        return ns;
      }
      if (f === RANGE) {
        if (a.keywords || a.positional.length < 1 || a.positional.length > 3)
          throw new Unsupported('range arguments');
        if (!a.positional.every(isInt)) throw new Unsupported('range arguments');
        const [x, y, z] = a.positional as number[];
        const [start, stop, step] = a.positional.length === 1 ? [0, x!, 1] : [x!, y!, z ?? 1];
        if (step === 0) throw new Unsupported('range step 0');
        const out: number[] = [];
        for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
        return out;
      }
      throw new Unsupported('call of this value');
    };
  }

  args(nodes: readonly Node[]): (scope: Scope) => Args {
    const positional: Expr[] = [];
    const keywords: [string, Expr][] = [];
    for (const n of nodes) {
      if (n.type === 'KeywordArgumentExpression') {
        const name = (n.key as Node).value as string;
        if (keywords.some(([k]) => k === name)) throw new Unsupported('repeated keyword argument');
        keywords.push([name, this.expr(n.value as Node)]);
      } else if (n.type === 'SpreadExpression' || n.type === 'KeywordSpreadExpression') {
        throw new Unsupported('spread arguments');
      } else {
        if (keywords.length > 0) throw new Unsupported('positional after keyword');
        positional.push(this.expr(n));
      }
    }
    return (scope) => ({
      positional: positional.map((e) => e(scope)),
      keywords: keywords.length === 0 ? undefined : new Map(keywords.map(([k, e]) => [k, e(scope)])),
    });
  }

  binaryExpr(node: Node): Expr {
    const op = (node.operator as { value: string }).value;
    const left = this.expr(node.left as Node);
    const right = this.expr(node.right as Node);
    if (op === 'and')
      return (scope) => {
        const l = left(scope);
        return truthy(l) ? right(scope) : l;
      };
    if (op === 'or')
      return (scope) => {
        const l = left(scope);
        return truthy(l) ? l : right(scope);
      };
    if (op === '/' || op === '**') throw new Unsupported(`operator ${op}`);
    return (scope) => binary(op, left(scope), right(scope));
  }

  filterExpr(node: Node): Expr {
    const operand = this.expr(node.operand as Node);
    const f = node.filter as Node;
    if (f.type === 'Identifier') {
      const name = f.value as string;
      return (scope) => filter(name, operand(scope));
    }
    if (f.type !== 'CallExpression' || (f.callee as Node).type !== 'Identifier') {
      throw new Unsupported('filter form');
    }
    const name = (f.callee as Node).value as string;
    const args = this.args(f.args as Node[]);
    switch (name) {
      case 'tojson':
        return (scope) => {
          const v = operand(scope);
          const a = args(scope);
          if (a.positional.length > 0) throw new Unsupported('tojson positional arguments');
          const kw = a.keywords ?? new Map<string, Value>();
          for (const k of kw.keys()) {
            if (!['indent', 'ensure_ascii', 'sort_keys', 'separators'].includes(k)) {
              throw new Unsupported(`tojson ${k}`);
            }
          }
          const indent = kw.get('indent') ?? null;
          const ensureAscii = kw.get('ensure_ascii') ?? false;
          const sortKeys = kw.get('sort_keys') ?? false;
          const seps = kw.get('separators') ?? null;
          if (!(indent === null || isInt(indent))) throw new Unsupported('tojson indent');
          if (typeof ensureAscii !== 'boolean' || typeof sortKeys !== 'boolean') {
            throw new Unsupported('tojson flags');
          }
          let separators: [string, string] | null = null;
          if (seps !== null) {
            if (!Array.isArray(seps) || seps.length !== 2 || !seps.every((s) => typeof s === 'string')) {
              throw new Unsupported('tojson separators');
            }
            separators = [seps[0] as string, seps[1] as string];
          }
          return toJson(v, { indent, ensureAscii, sortKeys, separators }, 0, true);
        };
      case 'join':
        return (scope) => {
          const v = operand(scope);
          const a = args(scope);
          const sep = a.positional[0] ?? a.keywords?.get('separator') ?? '';
          if (typeof sep !== 'string') throw new Unsupported('join separator');
          const parts = typeof v === 'string' ? Array.from(v) : v;
          if (!Array.isArray(parts) || !parts.every((p) => typeof p === 'string' || isInt(p))) {
            throw new Unsupported('join of this value');
          }
          return parts.join(sep);
        };
      case 'default':
        return (scope) => {
          const v = operand(scope);
          const a = args(scope);
          const fallback = a.positional.length > 0 ? a.positional[0] : '';
          const boolean = a.positional.length > 1 ? a.positional[1] : (a.keywords?.get('boolean') ?? false);
          if (typeof boolean !== 'boolean') throw new Unsupported('default flag');
          return v === undefined || (boolean && !truthy(v)) ? fallback : v;
        };
      default:
        throw new Unsupported(`filter ${name}(...)`);
    }
  }
}

/**
 * Compiles a template the library has parsed. Throws `Unsupported` when the template uses syntax the
 * compiler does not mirror; the returned function throws it for variables it cannot render exactly.
 */
export function compileTemplate(program: Program): CompiledTemplate {
  const body = new Compiler().block((program as unknown as { body: Node[] }).body);
  return (vars) => {
    const root = new Scope(undefined);
    root.vars.set('namespace', NAMESPACE);
    root.vars.set('range', RANGE);
    root.vars.set('raise_exception', UNSUPPORTED_GLOBAL);
    root.vars.set('strftime_now', UNSUPPORTED_GLOBAL);
    for (const [name, v] of [
      ['false', false],
      ['true', true],
      ['none', null],
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      root.vars.set(name, v);
    }
    for (const name of Object.keys(vars)) {
      // the library refuses a variable declared twice (a name of its globals)
      if (root.vars.has(name)) throw new Unsupported(`variable ${name} shadows a global`);
      root.vars.set(name, vars[name]);
    }
    try {
      return body(root);
    } catch (e) {
      if (e === BREAK || e === CONTINUE) throw new Unsupported('break or continue outside a loop');
      throw e;
    }
  };
}
