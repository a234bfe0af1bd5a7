/** Flag parsing helpers shared by the subcommands. */
import type { Command } from 'commander';
import { checkPeerEndpoint, PeerList, type PeerLoadOptions } from '../datastore/peer-load.js';
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

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** A `k=v,k2=v2` flag as a label set, or a FlagError naming the flag and the bad pair. */
export function labelSet(flag: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (eq < 0 || !LABEL_KEY.test(key) || key.length > 316 || !LABEL_VALUE.test(value) || value.length > 63)
      throw new FlagError(`${flag} takes labels as key=value[,key=value] (got "${pair}" in "${text}")`);
    out[key] = value;
  }
  return out;
}

export interface PeerFlags {
  peerListen?: string;
  peer?: string[];
  peerSelector?: string;
  peerSettle?: string;
  peerSettleTokens?: string;
  kubernetes?: boolean;
}

/** Kubernetes peer discovery as KubernetesMode takes it (`--peer-selector`). */
export interface KubePeers {
  selector: string;
  port: number;
  onPeers: (endpoints: readonly string[]) => void;
}

/**
 * `--peer-listen` / `--peer` / `--peer-selector` (serve and epp): peer load sharing (undefined when
 * not asked for), and with `--peer-selector` the Kubernetes discovery that feeds its peer list.
 */
export function peerLoadFlags(f: PeerFlags): {
  peerLoad: PeerLoadOptions | undefined;
  kubePeers: KubePeers | undefined;
} {
  const peers = f.peer ?? [];
  if (f.peerListen === undefined && peers.length === 0 && f.peerSelector === undefined) {
    if (f.peerSettle !== undefined || f.peerSettleTokens !== undefined)
      throw new FlagError('--peer-settle and --peer-settle-tokens need --peer-listen');
    return { peerLoad: undefined, kubePeers: undefined };
  }
  if (f.peerListen === undefined) {
    throw new FlagError(
      '--peer and --peer-selector need --peer-listen (the address this gateway publishes on)',
    );
  }
  let listen: string;
  try {
    listen = checkPeerEndpoint('--peer-listen', f.peerListen);
    for (const p of peers) checkPeerEndpoint('--peer', p);
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  const settle = {
    ...(f.peerSettle !== undefined ? { settleWindowMs: duration('--peer-settle', f.peerSettle) } : {}),
    ...(f.peerSettleTokens !== undefined
      ? { settleMinTokens: integer('--peer-settle-tokens', f.peerSettleTokens, 1) }
      : {}),
  };
  if (f.peerSelector === undefined) return { peerLoad: { listen, peers, ...settle }, kubePeers: undefined };
  if (!f.kubernetes) throw new FlagError('--peer-selector needs --kubernetes (it lists the gateway’s Pods)');
  const port = Number(/:(\d+)$/.exec(listen)?.[1] ?? 0);
  if (port <= 0 || port > 65535) {
    throw new FlagError('--peer-selector needs --peer-listen with a fixed port (the one every replica uses)');
  }
  const found = new PeerList();
  return {
    peerLoad: { listen, peers, discovered: found, ...settle },
    kubePeers: { selector: f.peerSelector, port, onPeers: (eps) => found.set(eps) },
  };
}

/** The load-sharing options of `serve` and `epp`, in their own help group. */
export function registerPeerOptions(cmd: Command): void {
  cmd.optionsGroup('Load sharing between gateway replicas:');
  cmd
    .option(
      '--peer-listen <endpoint>',
      'share this gateway’s per-endpoint load with its peer replicas: publish it on this ZMQ endpoint, ' +
        'e.g. tcp://0.0.0.0:9190 (docs/scheduling.md, "Several gateway replicas")',
    )
    .option(
      '--peer <endpoint>',
      'a peer replica’s --peer-listen endpoint (tcp://host:port); repeatable: their load is added to this one’s',
      collect,
    )
    .option(
      '--peer-selector <selector>',
      'with --kubernetes: the peers are the Pods of this namespace matching this label selector ' +
        '(the gateway’s own Deployment), at their Pod IP and --peer-listen’s port',
    )
    .option(
      '--peer-settle <duration>',
      'hold a long-prefill decision this long for peers deciding at the same instant; of two that ' +
        'claimed one endpoint, the lower id keeps it and the other decides again (0: off) (default: 3ms)',
    )
    .option(
      '--peer-settle-tokens <n>',
      'uncached prompt tokens from which a decision settles (default: 2048)',
    );
}
