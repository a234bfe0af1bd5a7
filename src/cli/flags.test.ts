import { describe, expect, it } from 'vitest';
import { FlagError, labelSet, peerLoadFlags } from './flags.js';

describe('peerLoadFlags', () => {
  it('is off without any peer flag', () => {
    expect(peerLoadFlags({})).toEqual({ peerLoad: undefined, kubePeers: undefined });
  });

  it('takes a listen endpoint and static peers', () => {
    const { peerLoad, kubePeers } = peerLoadFlags({
      peerListen: 'tcp://0.0.0.0:9190',
      peer: ['tcp://10.0.0.2:9190', 'tcp://[fd00::2]:9190', 'tcp://gw-1.gw.ns.svc:9190'],
    });
    expect(peerLoad).toEqual({
      listen: 'tcp://0.0.0.0:9190',
      peers: ['tcp://10.0.0.2:9190', 'tcp://[fd00::2]:9190', 'tcp://gw-1.gw.ns.svc:9190'],
    });
    expect(kubePeers).toBeUndefined();
  });

  it.each([
    [{ peer: ['tcp://10.0.0.2:9190'] }, /--peer and --peer-selector need --peer-listen/],
    [{ peerListen: 'http://0.0.0.0:9190' }, /--peer-listen must look like tcp:\/\/host:port \(got "http:/],
    [
      { peerListen: 'tcp://0.0.0.0:9190', peer: ['10.0.0.2:9190'] },
      /--peer must look like tcp:\/\/host:port/,
    ],
    [{ peerListen: 'tcp://0.0.0.0:9190', peerSelector: 'app=gw' }, /--peer-selector needs --kubernetes/],
    [
      { peerListen: 'tcp://0.0.0.0:*', peerSelector: 'app=gw', kubernetes: true },
      /--peer-selector needs --peer-listen with a fixed port/,
    ],
  ])('refuses %j', (flags, message) => {
    expect(() => peerLoadFlags(flags)).toThrow(FlagError);
    expect(() => peerLoadFlags(flags)).toThrow(message);
  });

  it('with --peer-selector, feeds the Pods found into the share’s peer list', () => {
    const { peerLoad, kubePeers } = peerLoadFlags({
      peerListen: 'tcp://0.0.0.0:9190',
      peerSelector: 'app=gw',
      kubernetes: true,
    });
    expect(kubePeers).toMatchObject({ selector: 'app=gw', port: 9190 });
    const seen: (readonly string[])[] = [];
    peerLoad!.discovered!.watch((eps) => seen.push(eps));
    kubePeers!.onPeers(['tcp://10.0.0.5:9190']);
    expect(seen).toEqual([['tcp://10.0.0.5:9190']]);
  });
});

describe('labelSet', () => {
  it('reads key=value pairs, prefixed keys included', () => {
    expect(labelSet('--x', 'istio=ingressgateway,app.kubernetes.io/name=gw, tier = edge')).toEqual({
      istio: 'ingressgateway',
      'app.kubernetes.io/name': 'gw',
      tier: 'edge',
    });
  });

  it.each(['istio', 'istio=', '=x', 'a=b,', 'a b=c', 'a=b c', '-a=b'])(
    'refuses "%s", naming the flag',
    (text) => {
      if (text === 'istio=') {
        expect(labelSet('--x', text)).toEqual({ istio: '' }); // an empty value is a valid label value
        return;
      }
      expect(() => labelSet('--istio-gateway-labels', text)).toThrow(/--istio-gateway-labels takes labels/);
    },
  );
});

describe('--peer-settle', () => {
  const base = { peerListen: 'tcp://0.0.0.0:9190', peer: ['tcp://10.0.0.2:9190'] };
  it('sets the window and the token threshold; 0 turns settling off', () => {
    expect(peerLoadFlags({ ...base, peerSettle: '5ms', peerSettleTokens: '4096' }).peerLoad).toMatchObject({
      settleWindowMs: 5,
      settleMinTokens: 4096,
    });
    expect(peerLoadFlags({ ...base, peerSettle: '0' }).peerLoad?.settleWindowMs).toBe(0);
    expect(peerLoadFlags(base).peerLoad?.settleWindowMs).toBeUndefined(); // the default applies
  });
  it.each([
    [{ ...base, peerSettle: 'soon' }, /--peer-settle must be a duration/],
    [{ ...base, peerSettleTokens: '0' }, /--peer-settle-tokens must be an integer ≥ 1/],
    [{ peerSettle: '3ms' }, /--peer-settle and --peer-settle-tokens need --peer-listen/],
  ])('refuses %j', (flags, message) => {
    expect(() => peerLoadFlags(flags)).toThrow(message);
  });
});
