/** Flag parsing helpers shared by the subcommands. */
import { checkPeerEndpoint, type PeerLoadOptions } from '../datastore/peer-load.js';
import { parseDuration } from '../util/duration.js';

/** Commander argParser for a repeatable flag: every occurrence appended, in order. */
export function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A flag value that cannot be used: the command exits with status 2, naming the flag. */
export class FlagError extends Error {}

/** An integer flag ≥ `min`, or a FlagError naming the flag. */
export function integer(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new FlagError(`${flag} must be an integer ≥ ${min} (got "${text}")`);
  return n;
}

/** A duration flag in ms (`0` allowed), or a FlagError naming the flag. */
export function duration(flag: string, text: string): number {
  if (text === '0') return 0;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new FlagError(`${flag} must be a duration such as 500ms, 30s, 5m (got "${text}")`);
  return ms;
}

/** A duration flag in ms that must be > 0, or a FlagError naming the flag. */
export function positiveDuration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || !(ms > 0))
    throw new FlagError(`${flag} must be a positive duration such as 50ms or 0.5s (got "${text}")`);
  return ms;
}

/** `--peer-listen` / `--peer` (serve and epp): peer load sharing, or undefined when not asked for. */
export function peerLoadFlags(
  listen: string | undefined,
  peers: readonly string[] | undefined,
): PeerLoadOptions | undefined {
  if (listen === undefined && (peers === undefined || peers.length === 0)) return undefined;
  if (listen === undefined)
    throw new FlagError('--peer needs --peer-listen (the address this gateway publishes on)');
  try {
    return {
      listen: checkPeerEndpoint('--peer-listen', listen),
      peers: (peers ?? []).map((p) => checkPeerEndpoint('--peer', p)),
    };
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
}
