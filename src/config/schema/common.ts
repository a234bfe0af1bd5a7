/**
 * Building blocks of the resource schemas (zod) and the strict-envelope check.
 *
 * The schemas use plain `z.object` (unknown keys stripped); unknown fields are found separately by
 * `findUnknownFields`, which walks the value alongside the schema so that each unknown key can be
 * reported with its path and the closest known key ("did you mean …?"). Objects that the upstream API
 * leaves open (plugin parameters, infrastructure specs) are `z.looseObject` and are not walked.
 *
 * Value checks that need a specific code or fix use `custom` issues carrying `params: { code, fix }`;
 * `describeIssue` turns every zod issue into the code, message and fix of a Diagnostic.
 */
import { z } from 'zod';
import { parseDuration } from '../../util/duration.js';
import { Codes, closest, type DiagnosticCode, joinPath, listOr } from '../diagnostics.js';

// ---------------------------------------------------------------------------------------------
// Checks with our own codes and fixes

interface IssueParams {
  code: DiagnosticCode;
  fix?: string;
}

type RefineCtx = z.core.$RefinementCtx<unknown>;

function fail(ctx: RefineCtx, message: string, params: IssueParams): void {
  ctx.addIssue({ code: 'custom', message, params: { ...params } });
}

/** An integer in [min, max]. */
export function intIn(min: number, max: number, fix?: string): z.ZodType<number> {
  return z.int().superRefine((v, ctx) => {
    if (v < min || v > max) {
      fail(ctx, `must be between ${min} and ${max} (got ${v})`, {
        code: Codes.OUT_OF_RANGE,
        fix: fix ?? `use a value from ${min} to ${max}`,
      });
    }
  });
}

/** A TCP port number, 1–65535. */
export const portNumber = intIn(1, 65535, 'use a port number from 1 to 65535');

/** A string matching `re`; `what` completes "must be …". */
export function pattern(re: RegExp, what: string, fix: string, maxLength?: number): z.ZodType<string> {
  return z.string().superRefine((v, ctx) => {
    if (maxLength !== undefined && v.length > maxLength) {
      fail(ctx, `is ${v.length} characters long; at most ${maxLength} are allowed`, { code: Codes.TOO_LONG });
    } else if (!re.test(v)) {
      fail(ctx, `"${v}" is not ${what}`, { code: Codes.INVALID_FORMAT, fix });
    }
  });
}

/** A string of at most `max` characters (and at least `min`). */
export function text(max: number, min = 0): z.ZodType<string> {
  return z.string().superRefine((v, ctx) => {
    if (v.length > max) {
      fail(ctx, `is ${v.length} characters long; at most ${max} are allowed`, { code: Codes.TOO_LONG });
    } else if (v.length < min) {
      fail(ctx, 'must not be empty', {
        code: Codes.INVALID_VALUE,
        fix: 'give it a value or remove the field',
      });
    }
  });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes object name (DNS subdomain, ≤ 253). */
export const objectName = pattern(
  DNS_SUBDOMAIN,
  'a valid name (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)',
  'rename it, e.g. "my-route"',
  253,
);

/** A section name / listener name / port name (DNS label, ≤ 63). */
export const sectionName = pattern(
  DNS_LABEL,
  'a valid name (lowercase letters, digits and "-", starting and ending with a letter or digit)',
  'rename it, e.g. "http"',
  63,
);

/** A Service name (DNS-1035 label: starts with a letter). */
export const serviceName = pattern(
  DNS_1035_LABEL,
  'a valid Service name (lowercase letters, digits and "-", starting with a letter)',
  'rename it, e.g. "vllm-qwen"',
  63,
);

export const namespaceName = pattern(
  DNS_LABEL,
  'a valid namespace (lowercase letters, digits and "-")',
  'use a namespace name such as "default"',
  63,
);

/** A Gateway API duration (GEP-2257: "1h30m", "500ms"; Envoy Gateway also takes fractions). */
export const duration = z.string().superRefine((v, ctx) => {
  if (parseDuration(v) === undefined) {
    fail(ctx, `"${v}" is not a duration`, {
      code: Codes.BAD_DURATION,
      fix: 'write a number with a unit h, m, s or ms, e.g. "30s", "1h30m" or "500ms"',
    });
  }
});

/** An RFC 3339 timestamp, as Kubernetes writes creationTimestamp. */
export const timestamp = z.string().superRefine((v, ctx) => {
  if (Number.isNaN(Date.parse(v))) {
    fail(ctx, `"${v}" is not a timestamp`, {
      code: Codes.INVALID_FORMAT,
      fix: 'use RFC 3339, e.g. "2025-05-23T03:33:09Z"',
    });
  }
});

/** A hostname as Gateway API writes it: lowercase DNS name, optionally with a leading `*.`. */
export const hostname = pattern(
  /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  'a valid hostname (lowercase DNS name, optionally starting with "*.")',
  'write a hostname such as "example.com" or "*.example.com" (no port, no scheme)',
  253,
);

/** A mapping of strings to strings (labels, annotations, selectors). */
export const stringMap = z.record(z.string(), z.string());

/** An API group (`""` is the core group). */
export const group = z.string();

/** A list with at most `max` entries. */
export function listOf<T extends z.ZodType>(item: T, max: number, min = 0): z.ZodArray<T> {
  let a = z.array(item).max(max);
  if (min > 0) a = a.min(min);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Object metadata and the whole-object envelope

export const objectMeta = z.object({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: namespaceName.optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.int().optional(),
  creationTimestamp: timestamp.optional(),
  deletionTimestamp: timestamp.optional(),
  deletionGracePeriodSeconds: z.int().optional(),
  managedFields: z.array(z.unknown()).optional(),
  ownerReferences: z.array(z.unknown()).optional(),
  finalizers: z.array(z.string()).optional(),
  selfLink: z.string().optional(),
});
export type ObjectMeta = z.output<typeof objectMeta>;

/** The whole object of a kind whose configuration lives under `spec`. `status` is always accepted. */
export function resource<S extends z.ZodType>(spec: S) {
  return z.object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: objectMeta,
    spec,
    status: z.unknown().optional(),
  });
}

// ---------------------------------------------------------------------------------------------
// Strict envelope: unknown fields

export interface UnknownField {
  path: string;
  key: string;
  known: readonly string[];
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Every key of `value` that the schema does not declare, with the keys that were expected there. */
export function findUnknownFields(schema: z.ZodType, value: unknown, path = ''): UnknownField[] {
  const out: UnknownField[] = [];
  walk(schema, value, path, out);
  return out;
}

function walk(schema: z.ZodType, value: unknown, path: string, out: UnknownField[]): void {
  if (value === null || value === undefined) return;
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      walk(def.innerType!, value, path, out);
      return;
    case 'pipe':
      walk(def.in!, value, path, out);
      return;
    case 'lazy':
      walk(def.getter!(), value, path, out);
      return;
    case 'array':
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) walk(def.element!, value[i], joinPath(path, i), out);
      }
      return;
    case 'record':
      if (typeof value === 'object' && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) walk(def.valueType!, v, joinPath(path, k), out);
      }
      return;
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return;
      const shape = def.shape!;
      const open = def.catchall !== undefined;
      const known = Object.keys(shape);
      for (const [k, v] of Object.entries(value)) {
        const field = shape[k];
        if (field) walk(field, v, joinPath(path, k), out);
        else if (!open) out.push({ path: joinPath(path, k), key: k, known });
      }
      return;
    }
    default:
      return;
  }
}

/** Message and fix for an unknown field. */
export function describeUnknownField(u: UnknownField): { message: string; fix: string } {
  const guess = closest(u.key, u.known);
  const fix = guess
    ? `did you mean "${guess}"?`
    : u.known.length
      ? `remove it; the fields allowed here are ${listOr(u.known)}`
      : 'remove it';
  return { message: `unknown field "${u.key}"`, fix };
}

// ---------------------------------------------------------------------------------------------
// Zod issues → diagnostics

export interface IssueDescription {
  code: DiagnosticCode;
  path: string;
  message: string;
  fix?: string;
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  array: 'a list',
};

const NUMERIC = /^-?\d+(\.\d+)?$/;

/** How a value reads in a message: `the string "80"`, `a list`, `12.5`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return `the string "${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
    case 'number':
    case 'boolean':
      return String(v);
    case 'object':
      return 'a mapping';
    default:
      return typeof v;
  }
}

export function pathToString(base: string, path: readonly PropertyKey[]): string {
  let p = base;
  for (const seg of path) p = joinPath(p, typeof seg === 'number' ? seg : String(seg));
  return p;
}

/** Turns one zod issue (parsed with `reportInput: true`) into code, path, message and fix. */
export function describeIssue(issue: z.core.$ZodIssue, base = ''): IssueDescription {
  const path = pathToString(base, issue.path);
  const field = String(issue.path[issue.path.length - 1] ?? '');
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (input === undefined) {
        return {
          code: Codes.MISSING_FIELD,
          path,
          message: 'required field is missing',
          fix: field ? `add "${field}" (${expected})` : `add it (${expected})`,
        };
      }
      let fix: string | undefined;
      if (
        (issue.expected === 'number' || issue.expected === 'int') &&
        typeof input === 'string' &&
        NUMERIC.test(input)
      ) {
        fix = `write ${input} without quotes`;
      } else if (issue.expected === 'int' && typeof input === 'number') {
        fix = `use a whole number, e.g. ${Math.round(input)}`;
      } else if (issue.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
        fix = `quote it: "${String(input)}"`;
      } else {
        fix = `write ${expected} here`;
      }
      return {
        code: Codes.WRONG_TYPE,
        path,
        message: `expected ${expected}, got ${describeValue(input)}`,
        fix,
      };
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const guess = typeof input === 'string' ? closest(input, values) : undefined;
      return {
        code: Codes.INVALID_VALUE,
        path,
        message: `${describeValue(input)} is not one of ${listOr(values)}`,
        fix: guess ? `did you mean "${guess}"?` : `use one of ${listOr(values)}`,
      };
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array') {
        const n = Array.isArray(input) ? input.length : max + 1;
        return {
          code: Codes.TOO_MANY_ITEMS,
          path,
          message: `has ${n} items; at most ${max} are allowed`,
          fix: `remove ${n - max} of them`,
        };
      }
      if (issue.origin === 'string') {
        const n = typeof input === 'string' ? input.length : max + 1;
        return { code: Codes.TOO_LONG, path, message: `is ${n} characters long; at most ${max} are allowed` };
      }
      return {
        code: Codes.OUT_OF_RANGE,
        path,
        message: `must be at most ${max} (got ${describeValue(input)})`,
      };
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') {
        return {
          code: Codes.TOO_FEW_ITEMS,
          path,
          message: `must have at least ${min} item${min === 1 ? '' : 's'}`,
          fix: 'add an entry or remove the field',
        };
      }
      if (issue.origin === 'string') {
        return { code: Codes.INVALID_VALUE, path, message: 'must not be empty', fix: 'give it a value' };
      }
      return {
        code: Codes.OUT_OF_RANGE,
        path,
        message: `must be at least ${min} (got ${describeValue(input)})`,
      };
    }
    case 'custom': {
      const params = (issue.params ?? {}) as Partial<IssueParams>;
      const d: IssueDescription = { code: params.code ?? Codes.INVALID_VALUE, path, message: issue.message };
      if (params.fix) d.fix = params.fix;
      return d;
    }
    default:
      return { code: Codes.INVALID_VALUE, path, message: issue.message };
  }
}
