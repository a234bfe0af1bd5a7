/**
 * The interim router (`serve --router interim`): least requests in flight, ties round-robin, counts
 * shared by every pool and kept across reloads.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { address, plan, pool, request } from '../../test/scheduling/helpers.js';
import { GatewayError } from '../openai/errors.js';
import { silentLogger } from '../util/log.js';
import { createLeastRequestPoolRegistry, LeastRequestPoolRegistry } from './least-request-router.js';

const signal = () => new AbortController().signal;
const ids = (d: { endpoints: readonly { id: string }[] }) => d.endpoints.map((e) => e.id);

function registry(...endpoints: Parameters<typeof pool>[0]['endpoints']) {
  const reg = new LeastRequestPoolRegistry();
  reg.sync(plan(pool({ endpoints })));
  return { reg, router: reg.get('default/pool')! };
}

describe('LeastRequestPoolRegistry', () => {
  it('is what the factory builds, one router per pool of the plan', async () => {
    const reg = createLeastRequestPoolRegistry({ metrics: new Registry(), logger: silentLogger() });
    expect(reg).toBeInstanceOf(LeastRequestPoolRegistry);
    reg.sync(plan(pool({ endpoints: [address(1)] }), pool({ key: 'ns/other', endpoints: [address(2)] })));
    expect(ids(await reg.get('default/pool')!.route(request(), signal()))).toEqual(['10.0.0.1:8000']);
    expect(ids(await reg.get('ns/other')!.route(request(), signal()))).toEqual(['10.0.0.2:8000']);
    expect(reg.get('ns/missing')).toBeUndefined();
    reg.sync(plan(pool({ key: 'ns/other', endpoints: [address(2)] })));
    expect(reg.get('default/pool')).toBeUndefined();
    await reg.close();
    expect(reg.get('ns/other')).toBeUndefined();
  });

  it('routes to ready endpoints only, with IPv6 ids bracketed; none ready is NO_READY_ENDPOINT', async () => {
    const v6 = { ...address(0), address: 'fd00::7', port: 9000, podName: 'pod-v6', labels: { z: '1' } };
    const { router } = registry({ ...address(1), ready: false }, v6, address(3));
    const d = await router.route(request({ model: 'm' }), signal());
    expect([...ids(d)].sort()).toEqual(['10.0.0.3:8000', '[fd00::7]:9000']);
    expect(d.endpoints.find((e) => e.port === 9000)).toEqual({
      id: '[fd00::7]:9000',
      address: 'fd00::7',
      port: 9000,
      podName: 'pod-v6',
      labels: { z: '1' },
    });

    const none = registry({ ...address(1), ready: false }).router;
    const err = await none.route(request(), signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('NO_READY_ENDPOINT');
    expect((err as GatewayError).message).toBe('InferencePool default/pool has no ready endpoint.');
  });

  it('passes the body and model through and orders every ready endpoint as a fallback', async () => {
    const { router } = registry(address(1), address(2), address(3));
    const req = request({ model: 'm' });
    const d = await router.route(req, signal());
    expect(d.body).toBe(req.body);
    expect(d.targetModel).toBe('m');
    expect(d.endpoints).toHaveLength(3);
    expect(new Set(ids(d)).size).toBe(3);
    expect(d.reason).toBe(`least-request: ${d.endpoints[0]!.id} had 0 in flight (3 ready)`);
  });

  it('breaks ties round-robin: an idle pool rotates its first choice', async () => {
    const { router } = registry(address(1), address(2), address(3));
    const firsts: string[][] = [];
    for (let i = 0; i < 4; i++) firsts.push(ids(await router.route(request(), signal())));
    expect(firsts).toEqual([
      ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000'],
      ['10.0.0.2:8000', '10.0.0.3:8000', '10.0.0.1:8000'],
      ['10.0.0.3:8000', '10.0.0.1:8000', '10.0.0.2:8000'],
      ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000'],
    ]);
  });

  it('prefers the endpoint with the fewest requests in flight; completion gives the count back', async () => {
    const { reg, router } = registry(address(1), address(2), address(3));
    const a = await router.route(request(), signal()); // 1 first
    a.onDispatch(a.endpoints[0]!);
    a.onDispatch(a.endpoints[0]!); // a retry on the same endpoint counts twice
    const b = await router.route(request(), signal()); // rotation starts at 2
    b.onDispatch(b.endpoints[0]!);
    expect(Object.fromEntries(reg.inFlight)).toEqual({ '10.0.0.1:8000': 2, '10.0.0.2:8000': 1 });

    const c = await router.route(request(), signal()); // rotation starts at 3: 3 (0), 2 (1), 1 (2)
    expect(ids(c)).toEqual(['10.0.0.3:8000', '10.0.0.2:8000', '10.0.0.1:8000']);
    const d = await router.route(request(), signal()); // rotation starts at 1; sorted by count all the same
    expect(ids(d)).toEqual(['10.0.0.3:8000', '10.0.0.2:8000', '10.0.0.1:8000']);
    expect(d.reason).toBe('least-request: 10.0.0.3:8000 had 0 in flight (3 ready)');

    a.onComplete(a.endpoints[0]!, { status: 200, ok: true });
    expect(reg.inFlight.get('10.0.0.1:8000')).toBe(1);
    a.onComplete(a.endpoints[0]!, { status: 200, ok: true });
    b.onComplete(b.endpoints[0]!, { status: 500, ok: false });
    // Counts that reach zero leave the table (it does not grow with departed endpoints).
    expect(reg.inFlight.size).toBe(0);
    // A completion without a dispatch never drives a count below zero.
    c.onComplete(c.endpoints[0]!, { status: 200, ok: true });
    expect(reg.inFlight.size).toBe(0);
    const e = await router.route(request(), signal());
    expect(e.reason).toMatch(/had 0 in flight/);
  });

  it('keeps counts across reloads and shares them between pools', async () => {
    const { reg, router } = registry(address(1), address(2));
    const d = await router.route(request(), signal());
    d.onDispatch(d.endpoints[0]!);
    reg.sync(
      plan(pool({ endpoints: [address(1), address(2)] }), pool({ key: 'ns/b', endpoints: [address(1)] })),
    );
    const other = await reg.get('ns/b')!.route(request(), signal());
    expect(other.reason).toBe('least-request: 10.0.0.1:8000 had 1 in flight (1 ready)');
    const again = await reg.get('default/pool')!.route(request(), signal());
    expect(ids(again)[0]).toBe('10.0.0.2:8000');
  });
});
