/** The `uploads` and `upload_claims` collections (see UploadDoc, UploadClaimDoc). */
import type { Database } from '../db/mongo.js';
import { isDuplicateKeyError } from '../db/mongo.js';
import type { UploadClaimDoc, UploadDoc } from '../db/documents.js';

export async function insertUpload({ uploads }: Database, upload: UploadDoc) {
  await uploads.insertOne(upload);
}

export const findUpload = ({ uploads }: Database, uploadId: string) =>
  uploads.findOne({ _id: uploadId });

export const findUploads = ({ uploads }: Database, uploadIds: readonly string[]) =>
  uploads.find({ _id: { $in: [...uploadIds] } }).toArray();

/** Records what the stored bytes turned out to be. */
export async function recordChecked(
  { uploads }: Database,
  uploadId: string,
  found: Pick<UploadDoc, 'kind' | 'width' | 'height' | 'thumbnail_key' | 'storage_key'>,
) {
  await uploads.updateOne({ _id: uploadId }, { $set: { ...found, checked_at: new Date() } });
}

/** Bytes declared by the uploads `ownerId` started since `since`. */
export async function bytesUploadedSince({ uploads }: Database, ownerId: string, since: Date) {
  const found = await uploads
    .find({ owner_id: ownerId, created_at: { $gte: since } }, { projection: { size: 1 } })
    .toArray();
  return found.reduce((sum, upload) => sum + upload.size, 0);
}

/** Up to `limit` uploads started before `before` and neither attached nor removed. */
export const findUnattachedBefore = ({ uploads }: Database, before: Date, limit: number) =>
  uploads
    .find(
      {
        created_at: { $lt: before },
        attached_to: { $exists: false },
        removed_at: { $exists: false },
      },
      { limit },
    )
    .toArray();

export async function markAttached({ uploads }: Database, uploadIds: string[], messageId: string) {
  await uploads.updateMany({ _id: { $in: uploadIds } }, { $set: { attached_to: messageId } });
}

/** Its bytes are gone (an orphan swept, or bytes that were not what was declared). */
export async function markRemoved(
  { uploads }: Database,
  uploadId: string,
  reason: 'orphan' | 'mismatch' | 'message deleted',
) {
  await uploads.updateOne(
    { _id: uploadId },
    { $set: { removed_at: new Date(), removed_for: reason } },
  );
}

/**
 * Takes an upload for a message or for the sweep: 'taken' when this claim is the one stored, else
 * the claim stored first.
 */
export async function claimUpload(
  { uploadClaims }: Database,
  claim: UploadClaimDoc,
): Promise<'taken' | UploadClaimDoc> {
  // A claim released between the insert and the read (a failed send) is tried again.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await uploadClaims.insertOne(claim);
      return 'taken';
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    const holder = await uploadClaims.findOne({ _id: claim._id });
    if (holder) return holder;
  }
  throw new Error(`the claim on upload ${claim._id} did not settle`);
}

export async function releaseClaims(
  { uploadClaims }: Database,
  uploadIds: string[],
  messageId: string,
) {
  await uploadClaims.deleteMany({ _id: { $in: uploadIds }, message_id: messageId });
}
