import { describe, expect, it } from 'vitest';
import { request } from '../../../test/scheduling/helpers.js';
import { SchedulingContext } from './context.js';

describe('SchedulingContext', () => {
  it('keeps the request, target, priority and scheduling time it was built with', () => {
    const req = request({ model: 'public' });
    const ctx = new SchedulingContext(req, 'target', -1, 100, 1234);
    expect(ctx.request).toBe(req);
    expect(ctx.targetModel).toBe('target');
    expect(ctx.priority).toBe(-1);
    expect(ctx.now).toBe(1234);
  });

  it('estimates prompt tokens as body bytes / 4, rounded up', () => {
    const req = request({ prompt: 'x' }); // {"prompt":"x"}: 14 bytes
    expect(req.body.length).toBe(14);
    expect(new SchedulingContext(req, undefined, 0, 0).estPromptTokens()).toBe(4);
  });

  it.each([
    [{ max_tokens: 64 }, 64],
    [{ max_completion_tokens: 32, max_tokens: 64 }, 32],
    [{ max_tokens: 0 }, undefined],
    [{ max_tokens: -5 }, undefined],
    [{ max_tokens: '64' }, undefined],
    [{}, undefined],
  ])('maxOutputTokens of %j is %s', (extra, want) => {
    expect(new SchedulingContext(request({ extra }), undefined, 0, 0).maxOutputTokens()).toBe(want);
  });

  it('has no output limit for a request without a JSON body', () => {
    const req = { ...request(), json: undefined };
    expect(new SchedulingContext(req, undefined, 0, 0).maxOutputTokens()).toBeUndefined();
  });

  it('renders the prompt once, cut at the limit', () => {
    const ctx = new SchedulingContext(request({ prompt: 'abcdefghij' }), undefined, 0, 4);
    const first = ctx.prompt();
    expect(first).toBe('abcd');
    expect(ctx.prompt()).toBe(first);
  });

  it('keeps per-request data per owner', () => {
    const ctx = new SchedulingContext(request(), undefined, 0, 0);
    const a = {};
    const b = {};
    expect(ctx.get(a)).toBeUndefined();
    ctx.set(a, 1);
    ctx.set(b, 2);
    expect(ctx.get<number>(a)).toBe(1);
    expect(ctx.get<number>(b)).toBe(2);
    ctx.set(a, 3);
    expect(ctx.get<number>(a)).toBe(3);
  });
});
