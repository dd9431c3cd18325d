import { describe, expect, it } from 'vitest';
import { ProgressCounter } from '../../../src/tools/build-image.js';

describe('ProgressCounter', () => {
  it('keeps progress strictly increasing through heartbeats, steps and a new attempt', () => {
    const counter = new ProgressCounter();
    const values: number[] = [];
    const push = (value: { progress: number } | undefined) => value && values.push(value.progress);
    push(counter.heartbeat());
    push(counter.next(1, 0, 3, true));
    // A silent step for a long time: thousands of heartbeats never reach the next whole step.
    for (let beat = 0; beat < 5000; beat++) push(counter.heartbeat());
    push(counter.next(1, 1, 3, false));
    push(counter.next(1, 1, 3, true));
    push(counter.heartbeat());
    push(counter.next(2, 0, 3, true));
    push(counter.heartbeat());
    push(counter.next(2, 3, 3, false));
    for (let index = 1; index < values.length; index++) expect(values[index]).toBeGreaterThan(values[index - 1]!);
    expect(values.at(-1)).toBe(5);
  });

  it('a heartbeat carries the total of the last real step', () => {
    const counter = new ProgressCounter();
    counter.next(1, 1, 4, false);
    expect(counter.heartbeat()).toEqual({ progress: expect.any(Number), total: 4 });
  });

  it('past the last step a heartbeat has no total, and the closing value reads complete', () => {
    const counter = new ProgressCounter();
    counter.next(1, 3, 3, false);
    const beat = counter.heartbeat();
    expect(beat.progress).toBeGreaterThan(3);
    expect(beat.total).toBeUndefined();
    const closing = counter.finish();
    expect(closing).toEqual({ progress: 4, total: 4 });
    expect(counter.finish()).toBeUndefined();
  });

  it('sends no closing value when the last step already completed the total', () => {
    const counter = new ProgressCounter();
    counter.next(1, 3, 3, false);
    expect(counter.finish()).toBeUndefined();
  });
});
