/**
 * Attachments (issue 17) through real clients, against both stores: GridFS in the test database
 * and s3proxy, a real S3-compatible server (one JVM for this file). Upload → attach → receive
 * over graphql-ws with working links; every refusal; the legacy API's text; the orphan sweep.
 */
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepOrphans } from '../src/attachments/service.js';
import { sealedKey, thumbnailKey, uploadKey } from '../src/attachments/store.js';
import { createGroup, removeMember } from './support/groups.js';
import { startS3, type RunningS3 } from './support/s3proxy.js';
import { startTestServer, type TestServer } from './support/server.js';
import { openEventStream, type SseEvent } from './support/sse.js';
import { createChat, registerUser, type TestUser } from './support/users.js';
import { cleanupAfterEach, sleep, waitFor } from './support/wait.js';

type Json = Record<string, unknown>;

const CREATE_UPLOAD = /* GraphQL */ `
  mutation CreateUpload($chatId: ID!, $fileName: String!, $contentType: String!, $size: Int!) {
    createUpload(chatId: $chatId, fileName: $fileName, contentType: $contentType, size: $size) {
      id
      uploadUrl
      expiresAt
      maxBytes
    }
  }
`;

const ATTACHMENT_FIELDS = /* GraphQL */ `
  id
  kind
  content
  cursor
  attachments {
    id
    kind
    fileName
    contentType
    size
    url
    width
    height
    thumbnailUrl
  }
`;

const SEND = /* GraphQL */ `
  mutation Send($chatId: ID!, $content: String!, $attachmentIds: [ID!], $clientMessageId: String) {
    sendMessage(
      chatId: $chatId
      content: $content
      attachmentIds: $attachmentIds
      clientMessageId: $clientMessageId
    ) {
      ${ATTACHMENT_FIELDS}
    }
  }
`;

const MESSAGES = /* GraphQL */ `
  query Messages($chatId: ID!) {
    chat(id: $chatId) {
      messages(last: 50) {
        edges {
          node {
            ${ATTACHMENT_FIELDS}
          }
        }
      }
    }
  }
`;

const MESSAGE_ADDED = /* GraphQL */ `
  subscription MessageAdded($chatId: ID!, $after: String) {
    messageAdded(chatId: $chatId, after: $after) {
      ${ATTACHMENT_FIELDS}
    }
  }
`;

interface Attachment {
  id: string;
  kind: 'IMAGE' | 'FILE';
  fileName: string;
  contentType: string;
  size: number;
  url: string;
  width: number | null;
  height: number | null;
  thumbnailUrl: string | null;
}
interface Message {
  id: string;
  kind: string;
  content: string;
  cursor: string;
  attachments: Attachment[];
}
interface Upload {
  id: string;
  uploadUrl: string;
  expiresAt: string;
  maxBytes: number;
}
interface File {
  fileName: string;
  contentType: string;
  bytes: Buffer;
}

/** An 800 × 600 PNG, and a file that is not one. */
let png: File;
const textFile: File = {
  fileName: 'report.txt',
  contentType: 'text/plain',
  bytes: Buffer.from('quarterly figures\n'.repeat(100)),
};
/** Declared a PNG, is not one: refused. */
const fakePng: File = {
  fileName: 'cat.png',
  contentType: 'image/png',
  bytes: Buffer.from('<script>alert(1)</script> not an image'),
};

let s3: RunningS3;
beforeAll(async () => {
  s3 = await startS3();
  const raster = await sharp({
    create: { width: 800, height: 600, channels: 3, background: { r: 200, g: 30, b: 60 } },
  })
    .png()
    .toBuffer();
  png = { fileName: 'holiday photo.png', contentType: 'image/png', bytes: raster };
});
afterAll(() => s3?.stop());

const cleanups = cleanupAfterEach();

const errorCode = (response: { errors?: readonly { extensions?: Json }[] }) =>
  response.errors?.[0]?.extensions?.code;

/** Starts an upload of `file` in `chatId` as `user`. */
async function createUpload(server: TestServer, user: TestUser, chatId: string, file: File) {
  const response = await server.gql<{ createUpload: Upload }>(
    CREATE_UPLOAD,
    { chatId, fileName: file.fileName, contentType: file.contentType, size: file.bytes.length },
    user.token,
  );
  return response;
}

async function put(upload: Upload, file: File, bytes = file.bytes) {
  return fetch(upload.uploadUrl, {
    method: 'PUT',
    headers: { 'content-type': file.contentType },
    body: new Uint8Array(bytes),
  });
}

/** An upload of `file` whose bytes were sent; its id. */
async function uploaded(server: TestServer, user: TestUser, chatId: string, file: File) {
  const created = await createUpload(server, user, chatId, file);
  const upload = created.data?.createUpload;
  if (!upload) throw new Error(`createUpload failed: ${JSON.stringify(created)}`);
  const response = await put(upload, file);
  if (!response.ok) throw new Error(`PUT: ${response.status} ${await response.text()}`);
  return upload.id;
}

function send(
  server: TestServer,
  user: TestUser,
  chatId: string,
  attachmentIds: string[],
  content = '',
  clientMessageId?: string,
) {
  return server.gql<{ sendMessage: Message }>(
    SEND,
    { chatId, content, attachmentIds, clientMessageId },
    user.token,
  );
}

async function download(url: string) {
  const response = await fetch(url);
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** The store's object for `key`: its size, or null when there is none. */
const storedSize = (server: TestServer, key: string) =>
  server.service.app.attachments.store.size(key);

/** The size of an upload's bytes wherever they are (as PUT, or sealed once checked), or null. */
async function storedBytes(server: TestServer, uploadId: string) {
  for (const key of [uploadKey(uploadId), sealedKey(uploadId)]) {
    const size = await storedSize(server, key);
    if (size !== null) return size;
  }
  return null;
}

describe.each(['gridfs', 's3'] as const)('attachments on %s', (store) => {
  let server: TestServer;
  let a: TestUser;
  let b: TestUser;
  let c: TestUser;
  let chatId: string;
  beforeAll(async () => {
    server = await startTestServer({
      ...(store === 's3' ? s3.env : {}),
      UPLOAD_BYTES_PER_DAY: String(10 * 1024 * 1024),
    });
    [a, b, c] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    chatId = await createChat(server, a, b);
  });
  afterAll(() => server?.stop());

  it('the store keeps, reads (ranges too), links to and deletes objects', async () => {
    const store = server.service.app.attachments.store;
    const key = `test/${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    expect(await store.size(key)).toBeNull();
    await store.put(key, bytes, 'application/octet-stream');
    expect(await store.size(key)).toBe(bytes.length);
    const whole = Buffer.concat(await (await store.read(key)).toArray());
    expect(whole.equals(bytes)).toBe(true);
    // A range across GridFS's 255 KiB chunk boundary.
    const range = Buffer.concat(
      await (await store.read(key, { start: 261_000, end: 261_199 })).toArray(),
    );
    expect(range.equals(bytes.subarray(261_000, 261_200))).toBe(true);
    const url = await store.downloadUrl({
      key,
      contentType: 'application/octet-stream',
      disposition: 'attachment; filename="a.bin"',
      expiresAt: new Date(Date.now() + 60_000),
    });
    const fetched = await download(url);
    expect(fetched.bytes.equals(bytes)).toBe(true);
    expect(fetched.response.headers.get('content-disposition')).toBe(
      'attachment; filename="a.bin"',
    );
    // The headers are part of what is signed.
    const changed = url.replace(/a\.bin/, 'b.html');
    expect(changed).not.toBe(url);
    expect((await fetch(changed)).status).toBe(403);
    await store.remove(key);
    await store.remove(key);
    expect(await store.size(key)).toBeNull();
  });

  it('upload, attach, receive over graphql-ws: working links to the bytes and a thumbnail', async () => {
    // B follows the chat from a message sent before: nothing after it can be missed.
    const first = await send(server, a, chatId, [], 'here they come');
    const after = first.data!.sendMessage.cursor;
    const received: Message[] = [];
    const client = server.wsClient({ authorization: `Bearer ${b.token}` });
    const failures: unknown[] = [];
    cleanups.push(
      client.subscribe<{ messageAdded: Message }>(
        { query: MESSAGE_ADDED, variables: { chatId, after } },
        {
          next: (result) => {
            if (result.data) received.push(result.data.messageAdded);
            else failures.push(result.errors);
          },
          error: (error) => failures.push(error),
          complete: () => undefined,
        },
      ),
    );

    const created = await createUpload(server, a, chatId, png);
    const upload = created.data!.createUpload;
    expect(upload.maxBytes).toBe(25 * 1024 * 1024);
    expect(new Date(upload.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect((await put(upload, png)).ok).toBe(true);
    const fileId = await uploaded(server, a, chatId, textFile);

    const image = await send(server, a, chatId, [upload.id]);
    expect(image.errors).toBeUndefined();
    expect(image.data!.sendMessage).toMatchObject({ kind: 'IMAGE', content: '' });
    const mixed = await send(server, a, chatId, [fileId], 'the figures');
    expect(mixed.data!.sendMessage.kind).toBe('FILE');

    await waitFor(() => received.length >= 2, 'both messages over graphql-ws');
    expect(failures).toEqual([]);
    const [imageMessage, fileMessage] = received;
    expect(imageMessage!.id).toBe(image.data!.sendMessage.id);
    expect(imageMessage!.attachments).toEqual([
      {
        id: upload.id,
        kind: 'IMAGE',
        fileName: 'holiday photo.png',
        contentType: 'image/png',
        size: png.bytes.length,
        url: expect.any(String),
        width: 800,
        height: 600,
        thumbnailUrl: expect.any(String),
      },
    ]);
    const [picture] = imageMessage!.attachments;
    const original = await download(picture!.url);
    expect(original.response.status).toBe(200);
    expect(original.bytes.equals(png.bytes)).toBe(true);
    expect(original.response.headers.get('content-type')).toBe('image/png');
    expect(original.response.headers.get('content-disposition')).toMatch(/^inline; filename=/);
    const thumbnail = await download(picture!.thumbnailUrl!);
    expect(thumbnail.response.status).toBe(200);
    expect(thumbnail.response.headers.get('content-type')).toBe('image/webp');
    const thumbnailSize = await sharp(thumbnail.bytes).metadata();
    expect([thumbnailSize.format, thumbnailSize.width, thumbnailSize.height]).toEqual([
      'webp',
      320,
      240,
    ]);

    expect(fileMessage!).toMatchObject({ kind: 'FILE', content: 'the figures' });
    const [file] = fileMessage!.attachments;
    expect(file).toMatchObject({ kind: 'FILE', fileName: 'report.txt', width: null });
    expect(file!.thumbnailUrl).toBeNull();
    const fetched = await download(file!.url);
    expect(fetched.bytes.equals(textFile.bytes)).toBe(true);
    expect(fetched.response.headers.get('content-type')).toBe('application/octet-stream');
    expect(fetched.response.headers.get('content-disposition')).toBe(
      'attachment; filename=report.txt',
    );
    if (store === 'gridfs') {
      // The store serves these itself (S3 cannot add this header: see the README).
      expect(fetched.response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(original.response.headers.get('x-content-type-options')).toBe('nosniff');
    }

    // History shows the same, and the database keeps the old model's message types.
    const history = await server.gql<{ chat: { messages: { edges: { node: Message }[] } } }>(
      MESSAGES,
      { chatId },
      b.token,
    );
    const nodes = history.data!.chat.messages.edges.map((edge) => edge.node);
    expect(nodes.slice(-2).map((node) => node.attachments[0]!.id)).toEqual([upload.id, fileId]);
    const stored = await server.service.app.db.messages
      .find({ message_id: { $in: [imageMessage!.id, fileMessage!.id] } })
      .toArray();
    expect(Object.fromEntries(stored.map((doc) => [doc.message_id, doc.message_type]))).toEqual({
      [imageMessage!.id]: 'image',
      [fileMessage!.id]: 'file',
    });
  });

  it('the old clients get the text, or [image] / [file] name, and never a link', async () => {
    const events: SseEvent[] = [];
    const close = await openEventStream(
      `${server.url}/sse/${b.id}?token=${b.token}`,
      {},
      (event) => events.push(event),
      (error) => {
        throw error;
      },
    );
    cleanups.push(close);
    await waitFor(() => events.length > 0, 'the SSE connected event');
    const imageId = await uploaded(server, a, chatId, png);
    const fileId = await uploaded(server, a, chatId, textFile);
    const sent = [
      (await send(server, a, chatId, [imageId])).data!.sendMessage.id,
      (await send(server, a, chatId, [fileId])).data!.sendMessage.id,
    ];
    await waitFor(
      () => events.filter((event) => event.data.includes('"type":"message"')).length >= 2,
      'both messages on the legacy stream',
    );
    const streamed = events
      .map((event) => JSON.parse(event.data) as Json)
      .filter((event) => sent.includes(event.message_id as string));
    expect(streamed.map((event) => event.content)).toEqual(['[image]', '[file] report.txt']);

    const history = await fetch(`${server.url}/api/chats/${chatId}/messages`, {
      headers: { authorization: `Bearer ${b.token}` },
    });
    const body = await history.text();
    const messages = JSON.parse(body) as Json[];
    expect(messages.slice(-2).map((message) => message.content)).toEqual([
      '[image]',
      '[file] report.txt',
    ]);
    expect(Object.keys(messages.at(-1)!)).toEqual([
      'message_id',
      'content',
      'timestamp',
      'sender',
      'is_own_message',
    ]);
    expect(body).not.toMatch(/https?:|attachments/);
    const chats = (await (
      await fetch(`${server.url}/api/chats`, { headers: { authorization: `Bearer ${b.token}` } })
    ).json()) as Json[];
    expect(chats.find((chat) => chat.chat_id === chatId)?.last_message).toBe('[file] report.txt');
  });

  it('works in groups: members get links; a removed member gets none and cannot upload', async () => {
    const group = await createGroup(server, a, [b, c]);
    const imageId = await uploaded(server, a, group.id, png);
    expect((await send(server, a, group.id, [imageId], 'for everyone')).errors).toBeUndefined();
    const readBy = (user: TestUser) =>
      server.gql<{ chat: { messages: { edges: { node: Message }[] } } | null }>(
        MESSAGES,
        { chatId: group.id },
        user.token,
      );
    const [picture] = (await readBy(c)).data!.chat!.messages.edges.at(-1)!.node.attachments;
    expect((await download(picture!.url)).bytes.equals(png.bytes)).toBe(true);
    expect((await fetch(picture!.thumbnailUrl!)).status).toBe(200);

    expect((await removeMember(server, a, group.id, c)).errors).toBeUndefined();
    expect((await readBy(c)).data?.chat).toBeNull();
    expect(errorCode(await createUpload(server, c, group.id, png))).toBe('FORBIDDEN');
    const seenByB = (await readBy(b)).data!.chat!.messages.edges.map((edge) => edge.node);
    expect(seenByB.find((node) => node.content === 'for everyone')?.attachments).toHaveLength(1);
  });

  it('deleting the message erases its attachments: no links in history, the bytes and thumbnail gone', async () => {
    const imageId = await uploaded(server, a, chatId, png);
    const sent = (await send(server, a, chatId, [imageId], 'regretted')).data!.sendMessage;
    const [picture] = sent.attachments;
    expect((await fetch(picture!.url)).status).toBe(200);
    const deleted = await server.gql(
      /* GraphQL */ `
        mutation ($id: ID!) {
          deleteMessage(messageId: $id) {
            id
          }
        }
      `,
      { id: sent.id },
      a.token,
    );
    expect(deleted.errors).toBeUndefined();
    const history = await server.gql<{ chat: { messages: { edges: { node: Message }[] } } }>(
      MESSAGES,
      { chatId },
      b.token,
    );
    const node = history.data!.chat.messages.edges.find((edge) => edge.node.id === sent.id)!.node;
    expect(node.attachments).toEqual([]);
    // The links given out before are dead: the bytes are gone from the store.
    expect((await fetch(picture!.url)).status).toBe(404);
    expect((await fetch(picture!.thumbnailUrl!)).status).toBe(404);
    expect(await storedBytes(server, imageId)).toBeNull();
  });

  it('refuses more bytes than declared, and keeps none of them', async () => {
    const declared = { ...textFile, bytes: Buffer.alloc(1000, 1) };
    const upload = (await createUpload(server, a, chatId, declared)).data!.createUpload;
    const key = uploadKey(upload.id);
    if (store === 'gridfs') {
      // A body of unknown length (chunked) is cut off as soon as it passes the size: the client
      // is answered before it has sent all it would.
      const offered = 64 * 1024 * 1024;
      let pulled = 0;
      const body = new Readable({
        read() {
          if (pulled >= offered) return this.push(null);
          pulled += 64 * 1024;
          this.push(Buffer.alloc(64 * 1024, 2));
        },
      });
      const status = await new Promise<number>((resolve, reject) => {
        const request = httpRequest(upload.uploadUrl, {
          method: 'PUT',
          headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
        });
        request.on('response', (response) => {
          response.resume();
          resolve(response.statusCode!);
          body.destroy();
          request.destroy();
        });
        request.on('error', reject);
        body.pipe(request);
      });
      expect(status).toBe(413);
      expect(pulled).toBeLessThan(offered);
      const chunks = await server.service.app.db.db
        .collection('attachments.chunks')
        .countDocuments({ files_id: key });
      expect(chunks).toBe(0);
    } else {
      const response = await put(upload, declared, Buffer.alloc(5000, 1));
      expect(response.status).toBe(403);
    }
    expect(await storedSize(server, key)).toBeNull();
    // Fewer bytes than declared are refused too.
    const short = await put(upload, declared, Buffer.alloc(999, 1));
    expect(short.status).toBe(store === 'gridfs' ? 400 : 403);
    expect(await storedSize(server, key)).toBeNull();
    // Nothing to attach; the right bytes may still be sent.
    expect(errorCode(await send(server, a, chatId, [upload.id]))).toBe('BAD_USER_INPUT');
    expect((await put(upload, declared)).ok).toBe(true);
    expect((await send(server, a, chatId, [upload.id])).errors).toBeUndefined();

    // A store that let a wrong size through (one that ignores signed headers): the attach
    // checks, refuses and deletes.
    const lax = (await createUpload(server, a, chatId, declared)).data!.createUpload;
    await server.service.app.attachments.store.put(
      uploadKey(lax.id),
      Buffer.alloc(500),
      'text/plain',
    );
    expect(errorCode(await send(server, a, chatId, [lax.id]))).toBe('BAD_USER_INPUT');
    expect(await storedBytes(server, lax.id)).toBeNull();
  });

  it('refuses an upload above MAX_UPLOAD_BYTES before any byte is sent', async () => {
    const response = await server.gql(
      CREATE_UPLOAD,
      {
        chatId,
        fileName: 'huge.bin',
        contentType: 'application/octet-stream',
        size: 25 * 1024 * 1024 + 1,
      },
      a.token,
    );
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
  });

  it('refuses an "image" that is not one, and deletes its bytes', async () => {
    // Declared image/png: the bytes must be a PNG that decodes (a file would be declared as one).
    const truncated = { ...png, bytes: png.bytes.subarray(0, 100) };
    // A real image, but not the type declared: the magic bytes tell.
    const jpegAsPng = { ...png, bytes: await sharp(png.bytes).jpeg().toBuffer() };
    for (const file of [fakePng, truncated, jpegAsPng]) {
      const upload = (await createUpload(server, a, chatId, file)).data!.createUpload;
      const response = await put(upload, file);
      if (store === 'gridfs') {
        expect(response.status).toBe(415);
      } else {
        // The store took the bytes; the first attach checks them.
        expect(response.ok).toBe(true);
      }
      const sent = await send(server, a, chatId, [upload.id]);
      expect(errorCode(sent)).toBe('BAD_USER_INPUT');
      expect(await storedBytes(server, upload.id)).toBeNull();
      expect(await storedSize(server, thumbnailKey(upload.id))).toBeNull();
    }
  });

  it('refuses the wrong owner, the wrong chat, a non-member and a reused upload', async () => {
    const imageId = await uploaded(server, a, chatId, png);
    // B is in the chat, but the upload is A's.
    expect(errorCode(await send(server, b, chatId, [imageId]))).toBe('FORBIDDEN');
    // A's chat with C is not the chat it was started for.
    const otherChat = await createChat(server, a, c);
    expect(errorCode(await send(server, a, otherChat, [imageId]))).toBe('BAD_USER_INPUT');
    // C is not in the chat: no upload to it, and no message (so no link) from it.
    expect(errorCode(await createUpload(server, c, chatId, png))).toBe('FORBIDDEN');
    const readByC = await server.gql<{ chat: unknown }>(MESSAGES, { chatId }, c.token);
    expect(readByC.data?.chat).toBeNull();

    const attached = (await send(server, a, chatId, [imageId])).data!.sendMessage;
    expect(errorCode(await send(server, a, chatId, [imageId]))).toBe('CONFLICT');

    // The upload link works for a while: PUT again, it changes nothing that was checked and sent.
    const other = Buffer.from(png.bytes).fill(0, 200);
    const link = await server.service.app.attachments.store.uploadUrl({
      uploadId: imageId,
      key: uploadKey(imageId),
      contentType: 'image/png',
      size: png.bytes.length,
      expiresAt: new Date(Date.now() + 60_000),
    });
    const replaced = await fetch(link, {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(other),
    });
    expect(replaced.status).toBe(store === 'gridfs' ? 409 : 200);
    const served = await download(attached.attachments[0]!.url);
    expect(served.bytes.equals(png.bytes)).toBe(true);
    if (store === 'gridfs') {
      // Bytes stored whose check did not finish (the server stopped in between): a second PUT is
      // refused too, and the check runs when the upload is attached.
      const fileId = await uploaded(server, a, chatId, textFile);
      await server.service.app.db.uploads.updateOne(
        { _id: fileId },
        { $unset: { checked_at: '', kind: '' } },
      );
      const uploadUrl = await server.service.app.attachments.store.uploadUrl({
        uploadId: fileId,
        key: uploadKey(fileId),
        contentType: textFile.contentType,
        size: textFile.bytes.length,
        expiresAt: new Date(Date.now() + 60_000),
      });
      const upload = { id: fileId, uploadUrl } as Upload;
      expect((await put(upload, textFile)).status).toBe(409);
      const sent = await send(server, a, chatId, [fileId]);
      expect(sent.data?.sendMessage.attachments[0]?.kind).toBe('FILE');
    }
    expect(errorCode(await send(server, a, chatId, [imageId, imageId]))).toBe('BAD_USER_INPUT');
    const unknown = await send(server, a, chatId, ['00000000-0000-4000-8000-000000000000']);
    expect(errorCode(unknown)).toBe('NOT_FOUND');
  });

  it('attaches an upload to one message when two sends race for it', async () => {
    const imageId = await uploaded(server, a, chatId, textFile);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => send(server, a, chatId, [imageId], 'race')),
    );
    expect(results.filter((result) => result.data?.sendMessage).length).toBe(1);
    expect(results.map(errorCode).filter(Boolean)).toEqual(['CONFLICT', 'CONFLICT', 'CONFLICT']);
  });

  it('a retried send (same clientMessageId) returns the first message with its attachment', async () => {
    const fileId = await uploaded(server, a, chatId, textFile);
    const [first, retry] = [
      await send(server, a, chatId, [fileId], '', 'retry-1'),
      await send(server, a, chatId, [fileId], '', 'retry-1'),
    ];
    expect(retry.data!.sendMessage.id).toBe(first.data!.sendMessage.id);
    expect(retry.data!.sendMessage.attachments[0]!.id).toBe(fileId);
  });

  it('links stop working when they expire', async () => {
    const shortLived = await startTestServer({
      ...(store === 's3' ? s3.env : {}),
      DOWNLOAD_URL_SECONDS: '1',
    });
    cleanups.push(() => shortLived.stop());
    const [x, y] = [await registerUser(shortLived), await registerUser(shortLived)];
    const chat = await createChat(shortLived, x, y);
    const fileId = await uploaded(shortLived, x, chat, textFile);
    const message = (await send(shortLived, x, chat, [fileId])).data!.sendMessage;
    const { url } = message.attachments[0]!;
    expect((await fetch(url)).status).toBe(200);
    await sleep(2100);
    expect((await fetch(url)).status).toBe(403);
    // A tampered link never worked.
    expect((await fetch(url.replace(/ignature=./, 'ignature=A'))).status).toBe(403);
  });

  it('deletes uploads left unattached for an hour, once, with several sweepers at once', async () => {
    const { app } = server.service;
    const orphans = [
      await uploaded(server, a, chatId, png),
      await uploaded(server, a, chatId, textFile),
    ];
    const attached = await uploaded(server, a, chatId, textFile);
    expect((await send(server, a, chatId, [attached])).errors).toBeUndefined();
    const never = (await createUpload(server, a, chatId, textFile)).data!.createUpload.id;

    // Within the hour nothing of these goes.
    const beforeHour = new Date(Date.now() + 59 * 60 * 1000);
    await sweepOrphans(app, beforeHour);
    expect(await storedBytes(server, orphans[0]!)).not.toBeNull();

    const later = new Date(Date.now() + 61 * 60 * 1000);
    const removed = await Promise.all([sweepOrphans(app, later), sweepOrphans(app, later)]);
    const ours = [...orphans, never];
    const swept = await app.db.uploads.find({ _id: { $in: ours }, removed_for: 'orphan' }).count();
    expect(swept).toBe(3);
    // Each orphan was taken by one of the two sweepers (earlier tests left none).
    expect(removed[0]! + removed[1]!).toBe(3);
    for (const id of orphans) {
      expect(await storedBytes(server, id)).toBeNull();
    }
    expect(await storedSize(server, thumbnailKey(orphans[0]!))).toBeNull();
    expect(await storedBytes(server, attached)).not.toBeNull();
    expect(errorCode(await send(server, a, chatId, [orphans[1]!]))).toBe('BAD_USER_INPUT');

    // A send that took its upload but died before recording it: the upload stays its.
    const taken = await uploaded(server, a, chatId, textFile);
    const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await app.db.uploadClaims.insertOne({ _id: taken, message_id: 'a-message', at: longAgo });
    await sweepOrphans(app, later);
    expect(await storedBytes(server, taken)).toBe(textFile.bytes.length);
    expect((await app.db.uploads.findOne({ _id: taken }))?.attached_to).toBe('a-message');

    // A sweep and a send racing for one upload: it is attached with its bytes, or swept, not both.
    for (let round = 0; round < 6; round += 1) {
      const contested = await uploaded(server, a, chatId, textFile);
      const [, sent] = await Promise.all([
        sweepOrphans(app, later),
        send(server, a, chatId, [contested]),
      ]);
      const size = await storedBytes(server, contested);
      if (sent.data?.sendMessage) expect(size).toBe(textFile.bytes.length);
      else expect([errorCode(sent), size]).toEqual(['BAD_USER_INPUT', null]);
    }
  });
});

describe('upload limits', () => {
  let server: TestServer;
  let a: TestUser;
  let chatId: string;
  const MiB = 1024 * 1024;
  beforeAll(async () => {
    server = await startTestServer({
      UPLOAD_BYTES_PER_DAY: String(10 * MiB),
      RATE_LIMIT_UPLOADS_PER_USER: '6',
    });
    a = await registerUser(server);
    chatId = await createChat(server, a, await registerUser(server));
  });
  afterAll(() => server?.stop());

  const start = (user: TestUser, size: number) =>
    server.gql(
      CREATE_UPLOAD,
      { chatId, fileName: 'a.bin', contentType: 'application/octet-stream', size },
      user.token,
    );

  it('counts declared bytes against the daily quota, also when uploads race', async () => {
    const racing = await Promise.all([start(a, 6 * MiB), start(a, 6 * MiB)]);
    expect(racing.map(errorCode).sort()).toEqual(['RATE_LIMITED', undefined]);
    expect(errorCode(await start(a, 4 * MiB))).toBeUndefined();
    expect(errorCode(await start(a, 1))).toBe('RATE_LIMITED');
  });

  it('counts uploads against the upload rate limit', async () => {
    const user = await registerUser(server);
    const other = await createChat(server, user, a);
    const results = [];
    for (let i = 0; i < 7; i += 1) {
      results.push(
        errorCode(
          await server.gql(
            CREATE_UPLOAD,
            { chatId: other, fileName: 'a.bin', contentType: 'application/octet-stream', size: 1 },
            user.token,
          ),
        ),
      );
    }
    expect(results.slice(0, 6)).toEqual(Array(6).fill(undefined));
    expect(results[6]).toBe('RATE_LIMITED');
  });

  it('an empty message needs an attachment; at most 10 attachments', async () => {
    const empty = await send(server, a, chatId, []);
    expect(errorCode(empty)).toBe('BAD_USER_INPUT');
    const ids = Array.from({ length: 11 }, (_, i) => `00000000-0000-4000-8000-0000000000${10 + i}`);
    expect(errorCode(await send(server, a, chatId, ids))).toBe('BAD_USER_INPUT');
  });
});
