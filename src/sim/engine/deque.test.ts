import { describe, expect, it } from 'vitest';
import { Deque } from './deque.js';

describe('Deque', () => {
  it('pushes and pops at both ends across growth and wrap-around', () => {
    const d = new Deque<number>(2);
    for (let i = 0; i < 5; i++) d.pushBack(i);
    expect(d.popFront()).toBe(0);
    d.pushFront(-1);
    d.pushFront(-2);
    expect(d.toArray()).toEqual([-2, -1, 1, 2, 3, 4]);
    expect(d.at(2)).toBe(1);
    expect(d.peekFront()).toBe(-2);
    expect(d.length).toBe(6);
  });

  it('removes an element from the middle', () => {
    const d = new Deque<string>();
    for (const s of ['a', 'b', 'c', 'd']) d.pushBack(s);
    d.popFront();
    d.pushBack('e');
    expect(d.remove('c')).toBe(true);
    expect(d.remove('zz')).toBe(false);
    expect(d.toArray()).toEqual(['b', 'd', 'e']);
  });

  it('returns undefined when empty', () => {
    const d = new Deque<number>();
    expect(d.popFront()).toBeUndefined();
    expect(d.peekFront()).toBeUndefined();
    expect(d.at(0)).toBeUndefined();
  });
});
