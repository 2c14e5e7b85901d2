/**
 * The default store: GridFS in the chat database (works on MongoDB, Atlas and the embedded
 * FerretDB), bucket `attachments`. The bytes pass through this server: clients PUT them to
 * ./routes.ts and fetch them from it, with links signed here.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GridFSBucket, type Db, type ObjectId } from 'mongodb';
import type { AttachmentStore, DownloadTarget, UploadTarget } from './store.js';
import { expirySeconds, type LinkSigner } from './signed-links.js';

const BUCKET = 'attachments';
export const UPLOAD_ROUTE = '/attachments/uploads/:uploadId';
export const DOWNLOAD_ROUTE = '/attachments/download';

/** The signed fields of an upload link and of a download link (see LinkSigner). */
export const uploadLinkFields = (uploadId: string) => ['put', uploadId];
export const downloadLinkFields = (key: string, contentType: string, disposition: string) => [
  'get',
  key,
  contentType,
  disposition,
];

/** GridFS ids may be any value (ours are the keys); the driver's types say ObjectId. */
const fileId = (key: string) => key as unknown as ObjectId;

/** More bytes arrived than allowed; nothing was kept. */
export class TooLargeError extends Error {
  override name = 'TooLargeError';
}

/** Counts the bytes going through and fails, before passing them on, past `max`. */
class ByteLimit extends Transform {
  count = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.count += chunk.length;
    if (this.count > this.max) done(new TooLargeError(`more than ${this.max} bytes`));
    else done(null, chunk);
  }
}

export class GridFsStore implements AttachmentStore {
  readonly kind = 'gridfs';
  private readonly bucket: GridFSBucket;

  constructor(
    private readonly db: Db,
    private readonly signer: LinkSigner,
    /** The server's address as clients reach it (known once it listens). */
    private readonly baseUrl: () => string,
  ) {
    this.bucket = new GridFSBucket(db, { bucketName: BUCKET });
  }

  async uploadUrl(target: UploadTarget) {
    const expires = expirySeconds(target.expiresAt);
    const signature = this.signer.sign([...uploadLinkFields(target.uploadId), expires]);
    const path = UPLOAD_ROUTE.replace(':uploadId', encodeURIComponent(target.uploadId));
    return `${this.baseUrl()}${path}?${new URLSearchParams({ expires, signature })}`;
  }

  async downloadUrl({ key, contentType, disposition, expiresAt }: DownloadTarget) {
    const expires = expirySeconds(expiresAt);
    const signature = this.signer.sign([
      ...downloadLinkFields(key, contentType, disposition),
      expires,
    ]);
    const query = new URLSearchParams({ key, type: contentType, disposition, expires, signature });
    return `${this.baseUrl()}${DOWNLOAD_ROUTE}?${query}`;
  }

  /**
   * Streams `body` into the store as `key`, holding only a chunk at a time. Past `maxBytes` it
   * stops reading and fails with TooLargeError; on any failure nothing of `key` is kept.
   */
  async receive(key: string, body: Readable, contentType: string, maxBytes: number) {
    const limit = new ByteLimit(maxBytes);
    const upload = this.bucket.openUploadStreamWithId(fileId(key), key, {
      metadata: { contentType },
    });
    try {
      await pipeline(body, limit, upload);
      return limit.count;
    } catch (error) {
      await upload.abort().catch(() => undefined);
      // Chunks written before the failure, whether or not abort got to them.
      await this.db.collection(`${BUCKET}.chunks`).deleteMany({ files_id: key });
      throw error;
    }
  }

  async put(key: string, bytes: Buffer, contentType: string) {
    await this.receive(key, Readable.from([bytes]), contentType, bytes.length);
  }

  /** The upload route takes one PUT per upload (a second is refused): nothing to move. */
  async seal(_uploadId: string, key: string) {
    return key;
  }

  async size(key: string) {
    const file = await this.db
      .collection<{ _id: string; length: number }>(`${BUCKET}.files`)
      .findOne({ _id: key }, { projection: { length: 1 } });
    return file ? file.length : null;
  }

  async read(key: string, range?: { start: number; end: number }) {
    // GridFS ranges end before `end`; ours include it.
    return this.bucket.openDownloadStream(
      fileId(key),
      range ? { start: range.start, end: range.end + 1 } : {},
    );
  }

  async remove(key: string) {
    try {
      await this.bucket.delete(fileId(key));
    } catch {
      // Not there (deleted before, or never stored): its chunks, if any, went with the delete.
    }
  }
}
