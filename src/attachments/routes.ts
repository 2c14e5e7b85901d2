/**
 * The GridFS store's own links: `PUT` an upload's bytes (streamed into GridFS a chunk at a time,
 * refused with 413 as soon as they pass the declared size, nothing kept), and `GET` an attachment
 * with the headers its signed link names. With the S3 store these routes are not served: the
 * links go to the store.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { App } from '../app.js';
import type { GridFsStore } from './gridfs-store.js';
import {
  DOWNLOAD_ROUTE,
  downloadLinkFields,
  TooLargeError,
  UPLOAD_ROUTE,
  uploadLinkFields,
} from './gridfs-store.js';
import { findUpload } from './repository.js';
import { checkUpload, MismatchError } from './service.js';

interface LinkQuery {
  expires?: string;
  signature?: string;
}

const refuse = (reply: FastifyReply, status: number, detail: string) =>
  reply.code(status).send({ detail });

/** The media type of a Content-Type header, without parameters, lower-cased. */
const mediaType = (header: string | undefined) => header?.split(';')[0]?.trim().toLowerCase();

export function attachmentRoutes(app: App, store: GridFsStore): FastifyPluginAsync {
  const { signer } = app.attachments;
  /** Uploads whose bytes are arriving here now (a second PUT at once is refused). */
  const arriving = new Set<string>();

  return async (routes) => {
    // Bodies are left unread for the handler, which streams them: never buffered whole.
    routes.removeAllContentTypeParsers();
    routes.addContentTypeParser('*', (_request, _payload, done) => done(null));

    routes.put<{ Params: { uploadId: string }; Querystring: LinkQuery }>(
      UPLOAD_ROUTE,
      {
        schema: {
          tags: ['attachments'],
          summary: "An upload's bytes, to the signed uploadUrl of createUpload (GraphQL)",
        },
      },
      async (request, reply) => {
        const { uploadId } = request.params;
        const { expires = '', signature = '' } = request.query;
        const link = signer.verify(uploadLinkFields(uploadId), expires, signature);
        if (link !== 'ok') {
          return refuse(
            reply,
            403,
            link === 'expired' ? 'Upload link expired' : 'Invalid upload link',
          );
        }
        const upload = await findUpload(app.db, uploadId);
        if (!upload || upload.removed_at) return refuse(reply, 404, 'Upload not found');
        // Bytes stored before (their check, if it did not finish, runs when they are attached).
        if (
          upload.checked_at ||
          arriving.has(uploadId) ||
          (await store.size(upload.storage_key)) !== null
        ) {
          return refuse(reply, 409, 'The bytes of this upload were sent already');
        }
        if (mediaType(request.headers['content-type']) !== upload.content_type) {
          return refuse(reply, 415, `Content-Type must be ${upload.content_type}, as declared`);
        }
        const declaredLength = request.headers['content-length'];
        if (declaredLength !== undefined && Number(declaredLength) > upload.size) {
          reply.header('connection', 'close');
          return refuse(reply, 413, `The upload is larger than the ${upload.size} bytes declared`);
        }
        arriving.add(uploadId);
        try {
          const received = await store.receive(
            upload.storage_key,
            request.raw,
            upload.content_type,
            upload.size,
          );
          if (received < upload.size) {
            await store.remove(upload.storage_key);
            return refuse(reply, 400, `${received} bytes arrived, not the ${upload.size} declared`);
          }
          await checkUpload(app, upload);
          return reply.code(204).send();
        } catch (error) {
          if (error instanceof TooLargeError) {
            // The rest of the body is not read: the connection ends with the answer.
            reply.header('connection', 'close');
            return refuse(
              reply,
              413,
              `The upload is larger than the ${upload.size} bytes declared`,
            );
          }
          if (error instanceof MismatchError) {
            return refuse(reply, 415, error.message);
          }
          throw error;
        } finally {
          arriving.delete(uploadId);
        }
      },
    );

    routes.get<{ Querystring: LinkQuery & { key?: string; type?: string; disposition?: string } }>(
      DOWNLOAD_ROUTE,
      {
        schema: {
          tags: ['attachments'],
          summary: 'An attachment, from a signed link of Attachment.url or thumbnailUrl (GraphQL)',
        },
      },
      async (request, reply) => {
        const {
          key = '',
          type = '',
          disposition = '',
          expires = '',
          signature = '',
        } = request.query;
        const link = signer.verify(downloadLinkFields(key, type, disposition), expires, signature);
        if (link !== 'ok') {
          return refuse(reply, 403, link === 'expired' ? 'Link expired' : 'Invalid link');
        }
        const size = await store.size(key);
        if (size === null) return refuse(reply, 404, 'Not Found');
        return reply
          .header('content-type', type)
          .header('content-disposition', disposition)
          .header('content-length', size)
          .header('x-content-type-options', 'nosniff')
          .header('content-security-policy', "default-src 'none'; sandbox")
          .header('cache-control', 'private, no-store')
          .send(await store.read(key));
      },
    );
  };
}
