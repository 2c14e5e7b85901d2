/**
 * Attachments: a client starts an upload for a chat (`createUpload`), PUTs the bytes to the link
 * it gets, then sends a message naming the upload (`sendMessage(…, attachmentIds)`). An upload is
 * checked once its bytes are stored (size exact; an allow-listed image type must be that image,
 * else it is refused), attaches once, only by its owner, only in its chat; unattached ones are
 * deleted after an hour (`sweepOrphans`, run by ./setup.ts). Links to the bytes are signed, short-lived and issued to
 * the chat's members only.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { create as contentDisposition } from 'content-disposition';
import { z } from 'zod';
import type { App } from '../app.js';
import type { AttachmentDoc, ChatDoc, UploadDoc } from '../db/documents.js';
import { AppError, badInput, forbidden, notFound } from '../errors.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { requireMembership } from '../chats/service.js';
import { KeyedQueue } from '../timeline/sequencer.js';
import { id, parseInput, userText } from '../validation.js';
import { describeImage, THUMBNAIL_TYPE } from './images.js';
import {
  bytesUploadedSince,
  claimUpload,
  findUnattachedBefore,
  findUpload,
  findUploads,
  insertUpload,
  markAttached,
  markRemoved,
  recordChecked,
  releaseClaims,
} from './repository.js';
import { isInlineImageType, sniffImageType, SNIFF_BYTES } from './sniff.js';
import { sealedKey, thumbnailKey, uploadKey } from './store.js';

/** Unattached uploads are deleted this long after they were started. */
const ORPHAN_AFTER_MS = 60 * 60 * 1000;
/** How long an upload link works. */
const UPLOAD_LINK_MS = 15 * 60 * 1000;
/** The most attachments one message carries. */
const MAX_ATTACHMENTS = 10;

/** What `createUpload` answers (GraphQL `Upload`). */
export interface UploadTicket {
  id: string;
  uploadUrl: string;
  expiresAt: Date;
  maxBytes: number;
}

/** An attachment with the chat of its message (whose members may have links to it). */
export type AttachmentModel = AttachmentDoc & { chat_id: string };

const createInput = z.object({
  chatId: id,
  fileName: userText('fileName')
    // Only the last part of a path; the name is shown and offered as the download's name.
    .transform((name) => name.split(/[\\/]/).pop()!.trim())
    .pipe(z.string().min(1, 'must name a file')),
  contentType: z
    .string()
    .trim()
    .toLowerCase()
    .regex(
      /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/,
      'must be a MIME type',
    ),
  size: z.number().int().min(1, 'must be at least 1 byte'),
});

export const attachmentIdsInput = z
  .array(id)
  .max(MAX_ATTACHMENTS, `at most ${MAX_ATTACHMENTS} attachments per message`)
  .refine((ids) => new Set(ids).size === ids.length, 'must not name an upload twice');

/** A user's uploads are counted and stored one after another (the daily quota), per process. */
const quotaQueue = new KeyedQueue();

const startOfUtcDay = (now: Date) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));

/** Starts an upload: the link to PUT the bytes to, for one chat the caller is in. */
export async function createUpload(
  scope: RequestScope,
  input: { chatId: string; fileName: string; contentType: string; size: number },
): Promise<UploadTicket> {
  const viewer = requireViewer(scope);
  const fields = parseInput(createInput, input);
  const { app } = scope;
  const { maxUploadBytes, bytesPerDay } = app.config.attachments;
  if (fields.size > maxUploadBytes) {
    throw badInput(`size: at most ${maxUploadBytes} bytes`, 'size');
  }
  await app.rateLimits.consume('uploadsPerUser', viewer.user_id);
  const chat = await requireMembership(scope, fields.chatId);
  const uploadId = randomUUID();
  const upload: UploadDoc = {
    _id: uploadId,
    owner_id: viewer.user_id,
    chat_id: chat.chat_id,
    file_name: fields.fileName,
    content_type: fields.contentType,
    size: fields.size,
    created_at: new Date(),
    storage_key: uploadKey(uploadId),
  };
  await quotaQueue.run(viewer.user_id, async () => {
    const used = await bytesUploadedSince(app.db, viewer.user_id, startOfUtcDay(upload.created_at));
    if (used + upload.size > bytesPerDay) {
      throw new AppError(
        'RATE_LIMITED',
        `Daily upload quota reached (${bytesPerDay} bytes, ${used} used); it renews at 00:00 UTC`,
      );
    }
    await insertUpload(app.db, upload);
  });
  const expiresAt = new Date(upload.created_at.getTime() + UPLOAD_LINK_MS);
  const uploadUrl = await app.attachments.store.uploadUrl({
    uploadId,
    key: upload.storage_key,
    contentType: upload.content_type,
    size: upload.size,
    expiresAt,
  });
  return { id: uploadId, uploadUrl, expiresAt, maxBytes: maxUploadBytes };
}

/** The stored bytes are not what the upload declared; they were deleted. */
export class MismatchError extends AppError {
  override name = 'MismatchError';
  constructor(message: string) {
    super('BAD_USER_INPUT', message, 'attachmentIds');
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** What the bytes at `key` are: a file, or (declared as an inline image type) that image. */
async function inspect(app: App, upload: UploadDoc, key: string) {
  const { store } = app.attachments;
  if (!isInlineImageType(upload.content_type)) return { kind: 'file' as const };
  const head = await readAll(await store.read(key, { start: 0, end: SNIFF_BYTES - 1 }));
  const refused = `Upload ${upload._id} is not a ${upload.content_type} image`;
  if (sniffImageType(head) !== upload.content_type) throw new MismatchError(refused);
  const image = await describeImage(await readAll(await store.read(key))).catch(() => {
    throw new MismatchError(refused);
  });
  const thumbnail = thumbnailKey(upload._id);
  await store.put(thumbnail, image.thumbnail, THUMBNAIL_TYPE);
  return {
    kind: 'image' as const,
    width: image.width,
    height: image.height,
    thumbnail_key: thumbnail,
  };
}

/**
 * Checks an upload's stored bytes once (GridFS: at the end of its PUT; S3: when it is first
 * attached, the store telling nobody of a PUT), where its upload link can no longer change them:
 * exactly the declared size, and an allow-listed image type only if the bytes are that image.
 * Bytes that fail are deleted: the upload cannot be attached (MismatchError).
 */
export async function checkUpload(app: App, upload: UploadDoc): Promise<UploadDoc> {
  if (upload.checked_at) return upload;
  // Sends racing with one upload check it one after another, each seeing the one before.
  return checking.run(upload._id, async () => {
    const current = await findUpload(app.db, upload._id);
    if (!current || current.removed_at) {
      throw badInput(`Upload ${upload._id} can no longer be attached`, 'attachmentIds');
    }
    return current.checked_at ? current : checkNow(app, current);
  });
}

/** Uploads being checked in this process. */
const checking = new KeyedQueue();

async function checkNow(app: App, upload: UploadDoc): Promise<UploadDoc> {
  const { store } = app.attachments;
  const key = await store.seal(upload._id, upload.storage_key);
  const size = await store.size(key);
  if (size === null) {
    throw badInput(`Upload ${upload._id} has no bytes yet: PUT them first`, 'attachmentIds');
  }
  try {
    if (size !== upload.size) {
      throw new MismatchError(
        `Upload ${upload._id} has ${size} bytes, not the ${upload.size} declared`,
      );
    }
    const found = { ...(await inspect(app, upload, key)), storage_key: key };
    await recordChecked(app.db, upload._id, found);
    return { ...upload, ...found, checked_at: new Date() };
  } catch (error) {
    if (error instanceof MismatchError) {
      await removeBytes(app, upload);
      await markRemoved(app.db, upload._id, 'mismatch');
    }
    throw error;
  }
}

/** Every object an upload may have left: as PUT, sealed, its thumbnail. */
async function removeBytes(app: App, upload: UploadDoc) {
  const { store } = app.attachments;
  const keys = new Set([
    upload.storage_key,
    uploadKey(upload._id),
    sealedKey(upload._id),
    thumbnailKey(upload._id),
  ]);
  await Promise.all([...keys].map((key) => store.remove(key)));
}

const attachmentOf = (upload: UploadDoc): AttachmentDoc => ({
  attachment_id: upload._id,
  kind: upload.kind ?? 'file',
  file_name: upload.file_name,
  content_type: upload.content_type,
  size: upload.size,
  ...(upload.kind === 'image'
    ? { width: upload.width, height: upload.height, thumbnail_key: upload.thumbnail_key }
    : {}),
  storage_key: upload.storage_key,
});

/** The uploads a send names, if the caller may attach each of them in `chat` now. */
async function usableUploads(scope: RequestScope, chat: ChatDoc, uploadIds: string[]) {
  const viewer = requireViewer(scope);
  const found = new Map((await findUploads(scope.app.db, uploadIds)).map((u) => [u._id, u]));
  const cutoff = Date.now() - ORPHAN_AFTER_MS;
  return uploadIds.map((uploadId) => {
    const upload = found.get(uploadId);
    if (!upload) throw notFound(`Upload ${uploadId} not found`);
    if (upload.owner_id !== viewer.user_id) {
      throw forbidden(`Upload ${uploadId} belongs to another user`);
    }
    if (upload.chat_id !== chat.chat_id) {
      throw badInput(`Upload ${uploadId} was started for another chat`, 'attachmentIds');
    }
    if (upload.removed_at || upload.created_at.getTime() < cutoff) {
      throw badInput(`Upload ${uploadId} has expired`, 'attachmentIds');
    }
    return upload;
  });
}

/** Uploads taken for a message: what it carries, and what to record once it is stored. */
export interface TakenAttachments {
  attachments: AttachmentDoc[];
  /** After the message is stored (with the id it was stored under: a retry's is the first's). */
  attached(messageId: string): Promise<void>;
}

/**
 * Takes the named uploads for the message `messageId` (a retried send — same `clientKey` —
 * takes them again). Each upload goes to one message: its claim decides, also between sends
 * racing on several instances.
 */
export async function takeAttachments(
  scope: RequestScope,
  chat: ChatDoc,
  uploadIds: string[],
  send: { messageId: string; clientKey?: string },
): Promise<TakenAttachments> {
  const { app } = scope;
  const uploads = await usableUploads(scope, chat, uploadIds);
  const checked = await Promise.all(uploads.map((upload) => checkUpload(app, upload)));
  const taken: string[] = [];
  try {
    for (const upload of checked) {
      const claim = await claimUpload(app.db, {
        _id: upload._id,
        message_id: send.messageId,
        ...(send.clientKey ? { client_key: send.clientKey } : {}),
        at: new Date(),
      });
      if (claim === 'taken') taken.push(upload._id);
      else if (!claim.message_id) {
        // The sweep took it, maybe while this send was sealing bytes the sweep had not seen yet.
        await removeBytes(app, upload);
        throw badInput(`Upload ${upload._id} has expired`, 'attachmentIds');
      } else if (!send.clientKey || claim.client_key !== send.clientKey) {
        throw new AppError('CONFLICT', `Upload ${upload._id} is already attached to a message`);
      }
    }
  } catch (error) {
    // None of them goes to this message: the ones it took may be attached elsewhere.
    await releaseClaims(app.db, taken, send.messageId);
    throw error;
  }
  return {
    attachments: checked.map(attachmentOf),
    attached: (messageId) => markAttached(app.db, uploadIds, messageId),
  };
}

/** Deletes the bytes (and thumbnails) of a deleted message's attachments: erased, not hidden. */
export async function eraseAttachments(app: App, attachments: AttachmentDoc[]): Promise<void> {
  const { store } = app.attachments;
  await Promise.all(
    attachments.map(async (attachment) => {
      const keys = [attachment.storage_key, attachment.thumbnail_key].filter((key) => key);
      await Promise.all(keys.map((key) => store.remove(key!)));
      await markRemoved(app.db, attachment.attachment_id, 'message deleted');
    }),
  );
}

/** 'image' when every attachment is one, 'file' when any is not, as the old model's types. */
export const messageTypeOf = (attachments: AttachmentDoc[]) =>
  attachments.every((attachment) => attachment.kind === 'image') ? 'image' : 'file';

/**
 * A link to an attachment's bytes (or its thumbnail), for a member of its chat: signed, valid for
 * DOWNLOAD_URL_SECONDS. Images of an allow-listed type are shown inline; anything else downloads
 * (`Content-Disposition: attachment`, as bytes of unknown type). Null: no thumbnail.
 */
export async function attachmentLink(
  scope: RequestScope,
  attachment: AttachmentModel,
  variant: 'original' | 'thumbnail',
): Promise<string | null> {
  const viewer = requireViewer(scope);
  const chat = await scope.loaders.chats.load(attachment.chat_id);
  if (!chat?.participants.includes(viewer.user_id)) throw forbidden('User not in chat');
  const { store } = scope.app.attachments;
  const expiresAt = new Date(Date.now() + scope.app.config.attachments.downloadUrlSeconds * 1000);
  if (variant === 'thumbnail') {
    return attachment.thumbnail_key
      ? store.downloadUrl({
          key: attachment.thumbnail_key,
          contentType: THUMBNAIL_TYPE,
          disposition: 'inline',
          expiresAt,
        })
      : null;
  }
  const inline = attachment.kind === 'image' && isInlineImageType(attachment.content_type);
  return store.downloadUrl({
    key: attachment.storage_key,
    contentType: inline ? attachment.content_type : 'application/octet-stream',
    disposition: contentDisposition(attachment.file_name, {
      type: inline ? 'inline' : 'attachment',
    }),
    expiresAt,
  });
}

/** At most this many uploads are looked at per sweep (the next sweep takes the rest). */
const SWEEP_BATCH = 500;
/** A sweeper's claim older than this is taken over (it died before removing the upload). */
const SWEEP_TAKEOVER_MS = 10 * 60 * 1000;

/**
 * Deletes the bytes of uploads started more than an hour before `now` and not attached. Safe with
 * several instances sweeping at once: the sweep takes each upload's claim first, so an upload is
 * either attached or swept, never both; deleting twice is harmless. Resolves with how many it
 * removed.
 */
export async function sweepOrphans(app: App, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - ORPHAN_AFTER_MS);
  const candidates = await findUnattachedBefore(app.db, cutoff, SWEEP_BATCH);
  let removed = 0;
  for (const upload of candidates) {
    const claim = await claimUpload(app.db, { _id: upload._id, at: now });
    if (claim !== 'taken' && claim.message_id) {
      // Attached, its sender not yet done (or gone before marking it).
      await markAttached(app.db, [upload._id], claim.message_id);
      continue;
    }
    // Another sweeper's, unless it took it long ago and died before finishing.
    if (claim !== 'taken' && claim.at.getTime() > now.getTime() - SWEEP_TAKEOVER_MS) continue;
    await removeBytes(app, upload);
    await markRemoved(app.db, upload._id, 'orphan');
    removed += 1;
  }
  return removed;
}
