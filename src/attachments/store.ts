/**
 * Where attachment bytes are kept. Two stores implement it: GridFS in the chat database (the
 * default, ./gridfs-store.ts) and an S3-compatible object store (./s3-store.ts). Clients send and
 * fetch the bytes through links the store makes: the server's own routes for GridFS, presigned
 * links straight to the store for S3.
 */
import type { Readable } from 'node:stream';

export interface UploadTarget {
  uploadId: string;
  key: string;
  /** Exactly what the client must send: the PUT carries this type and this many bytes. */
  contentType: string;
  size: number;
  expiresAt: Date;
}

export interface DownloadTarget {
  key: string;
  /** The `Content-Type` and `Content-Disposition` the download is served with. */
  contentType: string;
  disposition: string;
  expiresAt: Date;
}

export interface AttachmentStore {
  readonly kind: 'gridfs' | 's3';
  /** The link the client PUTs the upload's bytes to, valid until `expiresAt`. */
  uploadUrl(target: UploadTarget): Promise<string>;
  /** A link that serves the object with the given headers until `expiresAt`. */
  downloadUrl(target: DownloadTarget): Promise<string>;
  /** Stores bytes the server made (thumbnails). */
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** The stored object's size in bytes, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** The object's bytes, or those from `start` to `end` inclusive. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /**
   * Puts an upload's bytes, PUT to `key`, where its upload link can no longer change them (the
   * link works for a while after the PUT, and the bytes are about to be checked); resolves with
   * their key from then on.
   */
  seal(uploadId: string, key: string): Promise<string>;
  /** Deletes the object; deleting one that is not there is no error. */
  remove(key: string): Promise<void>;
}

/**
 * Keys are made from upload ids only: nothing a user typed becomes a key or a path. No key is a
 * prefix "folder" of another (stores on a file system cannot have both `a` and `a/b`).
 */
export const uploadKey = (uploadId: string) => `uploads/${uploadId}`;
export const thumbnailKey = (uploadId: string) => `thumbnails/${uploadId}`;
/** Where a store whose clients PUT directly keeps an upload's bytes once they are checked. */
export const sealedKey = (uploadId: string) => `files/${uploadId}`;
