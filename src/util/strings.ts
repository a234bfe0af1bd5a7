/**
 * A copy of `s` that does not keep a larger string alive. V8 represents a substring (slice, split,
 * regex match) of 13 or more characters as a view into its parent, so a short key kept in a
 * long-lived map retains the whole text it was cut from (V8 issue 2869): one 8,000-token prompt
 * per cached piece. Keys of caches that outlive the request go through this.
 */
export function ownCopy(s: string): string {
  // the concatenation is flattened into a new string before the slice views it
  return s.length < 13 ? s : ` ${s}`.slice(1);
}
