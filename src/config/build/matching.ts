/**
 * Checks and conversions for request matching: Gateway API path rules, regular expressions,
 * hostname intersection (route ↔ listener), and the precedence-tie order of routes.
 */

import { keyOf, type LoadedObject } from '../objects.js';

const ENCODED_SLASH = /%2f/i;

/**
 * Why a Gateway API `Exact` / `PathPrefix` value is invalid (the upstream CRD's rules), or undefined.
 * Returns the problem and a fix.
 */
export function pathProblem(value: string): { message: string; fix: string } | undefined {
  if (!value.startsWith('/')) {
    return { message: `path "${value}" must start with "/"`, fix: `write "/${value}"` };
  }
  if (value.includes('//'))
    return { message: `path "${value}" must not contain "//"`, fix: 'remove the empty segment' };
  if (value.includes('/./') || value.endsWith('/.')) {
    return { message: `path "${value}" must not contain "." segments`, fix: 'write the path without "/."' };
  }
  if (value.includes('/../') || value.endsWith('/..')) {
    return { message: `path "${value}" must not contain ".." segments`, fix: 'write the path without "/.."' };
  }
  if (ENCODED_SLASH.test(value))
    return { message: `path "${value}" must not contain "%2F"`, fix: 'use "/" instead' };
  if (value.includes('#') || value.includes('?')) {
    return {
      message: `path "${value}" must not contain "#" or "?"`,
      fix: 'match query parameters with queryParams',
    };
  }
  return undefined;
}

/** Why a regular expression does not compile ("Unterminated group"), or undefined when it compiles. */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source);
    return undefined;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return text.slice(text.lastIndexOf(': ') + 2); // V8: "Invalid regular expression: /<source>/: <reason>"
  }
}

export const REGEX_FIX = 'check brackets, escapes and quantifiers (RE2 syntax)';

export function badRegexMessage(source: string, problem: string): string {
  return `the regular expression "${source}" does not compile: ${problem}`;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/** A regular expression matching `text` literally. */
export function escapeRegex(text: string): string {
  return text.replace(REGEX_SPECIAL, '\\$&');
}

/** Whether a route hostname and a listener hostname can both match some request (Gateway API rules). */
export function hostnamesIntersect(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.startsWith('*.') && wildcardCovers(a, b)) return true;
  if (b.startsWith('*.') && wildcardCovers(b, a)) return true;
  return false;
}

/** `*.example.com` covers `a.example.com`, `a.b.example.com` and `*.b.example.com`, not `example.com`. */
function wildcardCovers(wildcard: string, host: string): boolean {
  const suffix = wildcard.slice(1); // ".example.com"
  const bare = host.startsWith('*.') ? host.slice(1) : host;
  return bare.endsWith(suffix) && bare.length > suffix.length;
}

/** `olderFirst` for two loaded manifest objects (Kubernetes' tie-break between conflicting objects). */
export function olderObjectFirst(a: LoadedObject, b: LoadedObject): number {
  return olderFirst(ageOf(a), ageOf(b));
}

function ageOf(o: LoadedObject): { creationTimestamp: string | undefined; loadOrder: number; key: string } {
  return {
    creationTimestamp: o.meta.creationTimestamp,
    loadOrder: o.loadOrder,
    key: keyOf(o.meta.namespace, o.meta.name),
  };
}

/** Orders objects oldest first: creationTimestamp when both have one, else load order, then `namespace/name`. */
export function olderFirst(
  a: { creationTimestamp?: string | undefined; loadOrder: number; key: string },
  b: { creationTimestamp?: string | undefined; loadOrder: number; key: string },
): number {
  if (a.creationTimestamp && b.creationTimestamp) {
    const d = Date.parse(a.creationTimestamp) - Date.parse(b.creationTimestamp);
    if (Number.isFinite(d) && d !== 0) return d;
  }
  return a.loadOrder - b.loadOrder || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
