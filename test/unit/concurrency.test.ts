import { forEachLimit } from '../../src/concurrency.js';

describe('forEachLimit', () => {
  it('runs every item, at most `limit` at once, in order', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    await forEachLimit([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    });
    expect(started).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  it('rejects with the first failure and takes no new item after it, so nothing runs on behind the caller', async () => {
    const started: number[] = [];
    const run = forEachLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      await new Promise((resolve) => setTimeout(resolve, n === 1 ? 1 : 20));
      if (n === 1) throw new Error('item 1 failed');
    });
    await expect(run).rejects.toThrow('item 1 failed');
    // Item 2 was already running; nothing after the failure started, then or later.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(started).toEqual([1, 2]);
  });
});
