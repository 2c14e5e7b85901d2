import DataLoader from 'dataloader';
import type { Collection, Document, Filter } from 'mongodb';

/**
 * A DataLoader that fetches documents by one unique string field with a single `$in` query per
 * batch. `batch: false` exists for the benchmark's N+1 contrast only.
 */
export function loaderByField<Doc extends Document, Key extends keyof Doc & string>(
  collection: Collection<Doc>,
  field: Key,
  options: { batch?: boolean } = {},
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
    { batch: options.batch ?? true, maxBatchSize: 1000 },
  );
}
