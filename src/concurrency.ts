/**
 * Runs `work` on every item with at most `limit` running at once, items taken in order. Stops taking new items
 * once `stop()` says so (a stopping run finishes what it started), and once one item has failed: the call then
 * rejects with that failure, and work on further items would only keep the process busy after it.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop() && !failed) {
      try {
        await work(items[next++]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
