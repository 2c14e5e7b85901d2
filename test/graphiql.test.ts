/**
 * The GraphiQL playground at `/graphql`, driven in headless Chromium as a developer uses it:
 * the page must work offline (every asset from this server), run queries, take a token from the
 * Headers tab, and run subscriptions over graphql-ws with that token sent per subscribe in
 * `extensions.headers` (GraphiQL's `connection_init` payload is empty).
 *
 * Needs Chromium at /usr/bin/chromium (Debian's `chromium` package) or at CHROMIUM_PATH; without
 * it the suite fails rather than skips.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parse, validate } from 'graphql';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/graphql/schema.js';
import { WELCOME_DOCUMENT } from '../src/graphql/welcome.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createChat, registerUser, sendMessage, type TestUser } from './support/users.js';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Bound on every single browser step (navigation, click, wait). */
const STEP_TIMEOUT = 15_000;
const TEST_TIMEOUT = 60_000;
const SCREENSHOT = '/tmp/graphiql.png';

let server: TestServer;
let browser: Browser | undefined;
/** Why the browser did not start; every test fails with it (never skips). */
let launchError: Error | undefined;

async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is required for the GraphiQL tests but was not found at ${CHROMIUM_PATH}. ` +
        'Install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: STEP_TIMEOUT * 2,
  });
}

beforeAll(async () => {
  server = await startTestServer();
  try {
    browser = await launchChromium();
  } catch (error) {
    launchError = error instanceof Error ? error : new Error(String(error));
  }
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

// ---------------------------------------------------------------------------------------------
// One fresh browser context (own storage, so GraphiQL's persisted tabs and headers never leak
// between tests) per test, recording every request it makes.

interface Session {
  context: BrowserContext;
  page: Page;
  /** Every HTTP(S), blob and data URL the page and its workers requested. */
  requests: string[];
  /** Requests to anywhere but this server; aborted so that nothing leaves the machine. */
  foreign: string[];
  /** WebSocket URLs the page opened. */
  webSockets: string[];
  /** Text frames the page sent over its WebSockets, parsed. */
  sentFrames: { type?: string; payload?: Record<string, unknown> }[];
  /** Uncaught page errors, for diagnosis. */
  pageErrors: string[];
}

let session: Session | undefined;
afterEach(async () => {
  await session?.context.close();
  session = undefined;
});

function isLocal(url: string): boolean {
  return (
    url.startsWith(`${server.url}/`) ||
    url.startsWith(`blob:${server.url}/`) ||
    url.startsWith('data:')
  );
}

async function newSession(): Promise<Session> {
  if (!browser) throw launchError ?? new Error('Chromium did not start');
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT);
  const current: Session = {
    context,
    page: undefined as unknown as Page,
    requests: [],
    foreign: [],
    webSockets: [],
    sentFrames: [],
    pageErrors: [],
  };
  await context.route(
    (url) => !isLocal(url.href),
    async (route) => {
      current.foreign.push(route.request().url());
      await route.abort('blockedbyclient');
    },
  );
  context.on('request', (request) => current.requests.push(request.url()));
  const page = await context.newPage();
  page.on('pageerror', (error) => current.pageErrors.push(error.message));
  page.on('websocket', (socket) => {
    current.webSockets.push(socket.url());
    socket.on('framesent', ({ payload }) => {
      if (typeof payload !== 'string') return;
      try {
        current.sentFrames.push(JSON.parse(payload) as Session['sentFrames'][number]);
      } catch {
        // Not JSON: not a graphql-ws message.
      }
    });
  });
  current.page = page;
  session = current;
  return current;
}

/** Opens GraphiQL with `query` in the operation editor (GraphiQL reads `?query=`), or at `path`. */
async function openGraphiQL(query: string, path?: string): Promise<Session> {
  const current = await newSession();
  const { page } = current;
  const url = path
    ? `${server.url}${path}`
    : `${server.graphqlUrl}?query=${encodeURIComponent(query)}`;
  await page.goto(url, { waitUntil: 'load' });
  expect(current.foreign, 'requests to other hosts while loading GraphiQL').toEqual([]);
  await page.locator('.graphiql-query-editor .view-lines').waitFor({ state: 'visible' });
  await page.locator('.graphiql-execute-button').waitFor({ state: 'visible' });
  await waitForText(() => editorText(page, '.graphiql-query-editor'), query, 'the query editor');
  return current;
}

/** What a Monaco editor shows (Monaco renders spaces as non-breaking spaces). */
async function editorText(page: Page, container: string): Promise<string> {
  const text = await page.locator(`${container} .view-lines`).first().innerText();
  return text.replace(/\u00a0/g, ' ');
}

async function responseText(page: Page): Promise<string> {
  const lines = page.locator('.graphiql-response .view-lines');
  if ((await lines.count()) === 0) return '';
  return (await lines.first().innerText()).replace(/\u00a0/g, ' ');
}

/** Polls `read` until its text contains `expected`; the error shows the last text seen. */
async function waitForText(
  read: () => Promise<string>,
  expected: string,
  what: string,
  timeout = STEP_TIMEOUT,
): Promise<string> {
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    last = await read();
    if (last.includes(expected)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what} to show ${JSON.stringify(expected)}: ${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Types into the Headers tab as a user would paste `{"Authorization": "Bearer …"}`. */
async function setHeaders(page: Page, headers: Record<string, string>): Promise<void> {
  await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
  const editor = page.locator('.graphiql-editor-tool .graphiql-editor[data-mode-id="json"]', {
    has: page.locator('.view-lines'),
  });
  const visible = editor.locator('visible=true').first();
  await visible.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  const json = JSON.stringify(headers);
  // insertText pastes the text in one go, without Monaco's auto-closing of quotes and braces.
  await page.keyboard.insertText(json);
  const shown = (await visible.locator('.view-lines').innerText()).replace(/\u00a0/g, ' ');
  expect(shown.replace(/\s/g, '')).toBe(json.replace(/\s/g, ''));
}

async function execute(page: Page): Promise<void> {
  await page.locator('.graphiql-execute-button').click();
}

const bearer = (user: TestUser) => `Bearer ${user.token}`;

// ---------------------------------------------------------------------------------------------

describe('GraphiQL at /graphql in Chromium', () => {
  it(
    'opens a new visitor on the worked example, which is valid against the schema',
    async () => {
      const { page } = await openGraphiQL('', '/graphql');
      // Monaco draws the lines in view: the top of the document.
      const shown = await waitForText(
        () => editorText(page, '.graphiql-query-editor'),
        'mutation Register',
        'the worked example',
      );
      expect(shown).toContain("Welcome to ZeroHour Chat's GraphQL API");
      // The page carries the whole document.
      const html = await (
        await fetch(server.graphqlUrl, { headers: { accept: 'text/html' } })
      ).text();
      for (const operation of ['query MyChats', 'mutation Send', 'subscription Follow']) {
        expect(html).toContain(operation);
      }
      expect(validate(schema, parse(WELCOME_DOCUMENT))).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'loads with every asset from this server and runs a query',
    async () => {
      const { page, requests, foreign, pageErrors } = await openGraphiQL('{ __typename }');
      await expect(page.title()).resolves.toBe('ZeroHour Chat GraphQL');

      await execute(page);
      const result = await waitForText(() => responseText(page), '"__typename"', 'the result');
      expect(result.replace(/\s/g, '')).toContain('"data":{"__typename":"Query"}');

      expect(foreign).toEqual([]);
      expect(requests.length).toBeGreaterThan(0);
      const elsewhere = requests.filter((url) => !isLocal(url));
      expect(elsewhere, `every request goes to ${server.url}`).toEqual([]);
      // The page itself and GraphiQL's schema introspection, at least, came from the server.
      expect(requests.filter((url) => url.startsWith(server.graphqlUrl)).length).toBeGreaterThan(1);
      expect(pageErrors).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'sends the Headers tab with the query: UNAUTHENTICATED without it, the user with it',
    async () => {
      const user = await registerUser(server);
      const { page } = await openGraphiQL('{ me { username } }');

      await execute(page);
      await waitForText(() => responseText(page), 'UNAUTHENTICATED', 'the error without a token');

      await setHeaders(page, { Authorization: bearer(user) });
      await execute(page);
      const result = await waitForText(() => responseText(page), user.username, 'the username');
      expect(result.replace(/\s/g, '')).toContain(`"me":{"username":"${user.username}"}`);
      expect(result).not.toContain('errors');
    },
    TEST_TIMEOUT,
  );

  it(
    'runs a subscription over graphql-ws with the token from the Headers tab (extensions.headers)',
    async () => {
      const viewer = await registerUser(server);
      const other = await registerUser(server);
      const chatId = await createChat(server, viewer, other);
      const current = await openGraphiQL(
        `subscription { messageAdded(chatId: "${chatId}") { content } }`,
      );
      const { page } = current;
      await setHeaders(page, { Authorization: bearer(viewer) });
      await execute(page);

      // No "started" signal: send probes until GraphiQL shows one, then the message under test.
      const deadline = Date.now() + STEP_TIMEOUT;
      for (let probe = 0; ; probe += 1) {
        const content = `probe ${probe}`;
        await sendMessage(server, other, chatId, content);
        const shown = await waitForText(() => responseText(page), `"${content}"`, 'a probe', 500)
          .then(() => true)
          .catch(() => false);
        if (shown) break;
        if (Date.now() > deadline) {
          throw new Error(`GraphiQL never showed a message: ${await responseText(page)}`);
        }
      }
      const content = `hello GraphiQL ${randomUUID().slice(0, 8)}`;
      await sendMessage(server, other, chatId, content);
      const result = await waitForText(() => responseText(page), content, 'the message');
      expect(result.replace(/\s/g, '')).toContain(
        `"messageAdded":{"content":"${content.replace(/\s/g, '')}"}`,
      );

      // It went over graphql-ws on the GraphQL path, with an empty connection_init and the token
      // in the subscribe message's extensions.headers.
      expect(current.webSockets.length).toBeGreaterThan(0);
      expect(current.webSockets.every((url) => url.startsWith(server.wsUrl))).toBe(true);
      const init = current.sentFrames.find((frame) => frame.type === 'connection_init');
      expect(init, 'a graphql-ws connection_init').toBeDefined();
      expect(JSON.stringify(init?.payload ?? {})).not.toContain(viewer.token);
      const subscribe = current.sentFrames.find((frame) => frame.type === 'subscribe');
      expect(subscribe?.payload?.extensions).toMatchObject({
        headers: { Authorization: bearer(viewer) },
      });
      expect(current.foreign).toEqual([]);
      expect(current.requests.filter((url) => !isLocal(url))).toEqual([]);

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(existsSync(SCREENSHOT)).toBe(true);
    },
    TEST_TIMEOUT,
  );
});
