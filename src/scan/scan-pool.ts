import pLimit from 'p-limit';

// A bounded pool: at most `parallel` workers at once, never more; one failing does not stop the others.

export type Settled<T, R> =
  | { item: T; index: number; status: 'fulfilled'; value: R }
  | { item: T; index: number; status: 'rejected'; reason: unknown };

export async function scanAll<T, R>(
  items: readonly T[],
  parallel: number,
  worker: (item: T, index: number) => Promise<R>,
  onDone?: (settled: Settled<T, R>) => void,
): Promise<Settled<T, R>[]> {
  const limit = pLimit(Math.max(1, Math.floor(parallel) || 1));
  return Promise.all(
    items.map((item, index) =>
      limit(async (): Promise<Settled<T, R>> => {
        let settled: Settled<T, R>;
        try {
          settled = { item, index, status: 'fulfilled', value: await worker(item, index) };
        } catch (reason) {
          settled = { item, index, status: 'rejected', reason };
        }
        onDone?.(settled);
        return settled;
      }),
    ),
  );
}
