/**
 * HTTPRoute URLRewrite path semantics (Gateway API):
 * - ReplaceFullPath: the whole path becomes the value (the query string is kept).
 * - ReplacePrefixMatch: the matched prefix is replaced, element-wise: with prefix `/foo`,
 *   `/foo/bar` → `/xyz/bar`, `/foo` → `/xyz`, and with replacement `/`, `/foo/bar` → `/bar`.
 */
import type { UrlRewritePlan } from '../config/plan.js';

/**
 * `matchedPrefix`: the rule's PathPrefix without trailing slash ('' for `/`), or the Exact path
 * when the rule matched exactly.
 */
export function rewritePath(
  path: string,
  rewrite: NonNullable<UrlRewritePlan['path']>,
  matchedPrefix: string,
): string {
  if (rewrite.type === 'ReplaceFullPath') return rewrite.value;
  const rest = path.startsWith(matchedPrefix) ? path.slice(matchedPrefix.length) : path;
  const value = rewrite.value;
  if (rest.length === 0) return value.length > 0 ? value : '/';
  if (value.endsWith('/')) return value + rest.slice(1);
  return value + rest;
}
