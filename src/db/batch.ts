import type { Collection, Document, Filter } from 'mongodb';

/**
 * The documents whose `field` is one of `keys`, in one `$in` query: what repositories answer a
 * DataLoader batch with. A batch of one asks by equality, which the embedded database (FerretDB
 * on PostgreSQL) answers from an index; it reads the whole collection for `$in`.
 */
export function findIn<Doc extends Document, Key extends keyof Doc & string>(
  collection: Collection<Doc>,
  field: Key,
  keys: readonly string[],
): Promise<Doc[]> {
  const filter = (
    keys.length === 1 ? { [field]: keys[0] } : { [field]: { $in: [...keys] } }
  ) as Filter<Doc>;
  return (
    collection
      // A batch larger than the answer comes back exhausted: no getMore round trip.
      .find(filter, { projection: { _id: 0 }, batchSize: keys.length + 1 })
      .toArray() as Promise<Doc[]>
  );
}
