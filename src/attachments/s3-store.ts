/**
 * The production option: an S3-compatible object store. Clients PUT and GET the bytes with
 * presigned links straight to the store, so they never pass through this server. An upload link
 * signs the declared `Content-Length` and `Content-Type`: the store refuses any other body
 * (403) instead of keeping it.
 */
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Config } from '../config.js';
import {
  sealedKey,
  type AttachmentStore,
  type DownloadTarget,
  type UploadTarget,
} from './store.js';

const isNotFound = (error: unknown) =>
  error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404;

const secondsUntil = (at: Date) => Math.max(1, Math.ceil((at.getTime() - Date.now()) / 1000));

export class S3Store implements AttachmentStore {
  readonly kind = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(config: S3Config) {
    this.bucket = config.bucket;
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.accessKeyId && config.secretAccessKey
        ? {
            credentials: {
              accessKeyId: config.accessKeyId,
              secretAccessKey: config.secretAccessKey,
            },
          }
        : {}),
      // By default the SDK puts a checksum of the (empty) body it signs into a presigned PUT, which
      // the client's real body then fails; and it asks for checksums that not every
      // S3-compatible server implements.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  uploadUrl({ key, contentType, size, expiresAt }: UploadTarget) {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ContentType: contentType,
      ContentLength: size,
    });
    return getSignedUrl(this.client, command, {
      expiresIn: secondsUntil(expiresAt),
      signableHeaders: new Set(['content-length', 'content-type']),
    });
  }

  downloadUrl({ key, contentType, disposition, expiresAt }: DownloadTarget) {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentType: contentType,
      ResponseContentDisposition: disposition,
    });
    return getSignedUrl(this.client, command, { expiresIn: secondsUntil(expiresAt) });
  }

  async put(key: string, bytes: Buffer, contentType: string) {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType,
      }),
    );
  }

  /**
   * A presigned PUT may be repeated until its link expires: the bytes are copied to a key no link
   * names before they are checked, and the uploaded object deleted.
   */
  async seal(uploadId: string, key: string) {
    const sealed = sealedKey(uploadId);
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: sealed,
          CopySource: `${this.bucket}/${encodeURIComponent(key)}`,
        }),
      );
    } catch (error) {
      // Moved already (by an earlier check), or never PUT: the caller finds out which.
      if (isNotFound(error)) return sealed;
      throw error;
    }
    await this.remove(key);
    return sealed;
  }

  async size(key: string) {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async read(key: string, range?: { start: number; end: number }) {
    const object = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    return object.Body as Readable;
  }

  async remove(key: string) {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
