import DataLoader from 'dataloader';
import type { Collection, Document, Filter } from 'mongodb';

/**
 * A DataLoader that fetches documents by one unique string field with a single `$in` query per
 * batch. `batch: false` exists for the benchmark's N+1 contrast only. `sharedBy: 'process'` makes
 * one that callers across requests share: no cache, and a batch gathers the loads of one turn of
 * the event loop (every socket event read in it), not only of one callback.
 */
export function loaderByField<Doc extends Document, Key extends keyof Doc & string>(
  collection: Collection<Doc>,
  field: Key,
  options: { batch?: boolean; sharedBy?: 'request' | 'process' } = {},
): DataLoader<string, Doc | null> {
  return new DataLoader<string, Doc | null>(
    async (keys) => {
      const filter = { [field]: { $in: [...keys] } } as Filter<Doc>;
      const docs = (await collection
        // A batch larger than the answer comes back exhausted: no getMore round trip.
        .find(filter, { projection: { _id: 0 }, batchSize: keys.length + 1 })
        .toArray()) as Doc[];
      const byKey = new Map(docs.map((doc) => [doc[field] as string, doc]));
      return keys.map((key) => byKey.get(key) ?? null);
    },
    {
      batch: options.batch ?? true,
      maxBatchSize: 1000,
      ...(options.sharedBy === 'process'
        ? { cache: false, batchScheduleFn: (dispatch: () => void) => setImmediate(dispatch) }
        : {}),
    },
  );
}
