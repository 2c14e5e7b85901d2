/**
 * Scenario 11: a typing burst (issue 15). `plan.typing.users` members of one group (opened with
 * `createGroupChat`), each with one graphql-ws connection subscribed to the group's
 * `chatEvents` (TypingChanged), call `setTyping(true)` over that connection
 * `keystrokesPerSecond` times a second for `seconds`. Counted: keystrokes in, typing signals on
 * the bus out (what every instance receives: at most one per typer per 2 s), TypingChanged
 * events received by the members, server CPU per 1,000 keystrokes and DB commands (none
 * expected: typing is never stored, and the connection authenticated once).
 */
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import type { Bench } from '../context.js';
import { row } from '../report.js';
import { ApiClient, createGroupChat, registerUsers } from '../seed.js';
import { sleep } from '../util.js';

const DB = 'bench_typing';
/** Renewals within this long are not passed on (src/typing/live-feeds.ts). */
const RENEWAL_SECONDS = 2;

const SET_TYPING = 'mutation ($chatId: ID!) { setTyping(chatId: $chatId, typing: true) }';
const TYPING = `subscription ($chatId: ID!) {
  chatEvents(chatId: $chatId) { __typename ... on TypingChanged { users { id } } }
}`;

/** Runs one operation over a graphql-ws client to its end. */
function run(client: Client, query: string, variables: Record<string, unknown>) {
  return new Promise<void>((resolve, reject) => {
    client.subscribe(
      { query, variables },
      { next: () => undefined, error: reject, complete: resolve },
    );
  });
}

export async function typingScenario(bench: Bench): Promise<void> {
  const { plan, progress } = bench;
  const { users: count, keystrokesPerSecond, seconds } = plan.typing;
  const title = `11 typing burst · ${keystrokesPerSecond} keystrokes/s × ${count} users`;
  progress.step(`${title}: seeding`);
  const server = await bench.startServer(DB);
  const clients: Client[] = [];
  try {
    const api = new ApiClient(server.baseUrl);
    const users = await registerUsers(api, count, 'typist');
    const chatId = await createGroupChat(api, users[0]!, 'typing', users.slice(1));
    let received = 0;
    for (const user of users) {
      const client = createClient({
        url: server.baseUrl.replace('http', 'ws') + '/graphql',
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${user.token}` },
        retryAttempts: 0,
      });
      clients.push(client);
      client.subscribe(
        { query: TYPING, variables: { chatId } },
        { next: () => void (received += 1), error: () => undefined, complete: () => undefined },
      );
    }
    // Every connection listens once a first keystroke each reaches every member.
    await Promise.all(clients.map((client) => run(client, SET_TYPING, { chatId })));
    for (let waited = 0; received < count && waited < 100; waited += 1) await sleep(100);
    // Past the renewal time: the burst starts from renewals that go out.
    await sleep(RENEWAL_SECONDS * 1000 + 100);
    await server.worker.call('watchLive', chatId);

    progress.step(`${title}: ${seconds} s`);
    const receivedBefore = received;
    const signalsBefore = await server.worker.call('liveSignals', null);
    const window = await bench.measure(server, async () => {
      let keystrokes = 0;
      const until = Date.now() + seconds * 1000;
      const interval = 1000 / keystrokesPerSecond;
      await Promise.all(
        clients.map(async (client, index) => {
          await sleep((interval * index) / clients.length);
          for (let next = Date.now(); next < until; next += interval) {
            await run(client, SET_TYPING, { chatId });
            keystrokes += 1;
            await sleep(Math.max(0, next + interval - Date.now()));
          }
        }),
      );
      return keystrokes;
    });
    const keystrokes = window.result;
    const signals = (await server.worker.call('liveSignals', null)) - signalsBefore;
    const events = received - receivedBefore;
    const allowed = count * Math.ceil(window.wallMs / 1000 / RENEWAL_SECONDS + 1);
    bench.rows.push(
      row({
        scenario: title,
        unit: 'keystroke',
        ops: keystrokes,
        opsPerSec: keystrokes / (window.wallMs / 1000),
        cpuMsPer1k: (window.cpuMs / keystrokes) * 1000,
        dbCpuMsPer1k: (window.dbCpuMs / keystrokes) * 1000,
        rssMb: window.stats.rss / 2 ** 20,
        dbCommandsPerOp: window.commands / keystrokes,
        target: `0 DB commands; ≤ 1 signal per typer per ${RENEWAL_SECONDS} s (≤ ${allowed})`,
        measured: `${keystrokes} in → ${signals} bus signals → ${events} TypingChanged received`,
        met: window.commands === 0 && signals <= allowed,
        notes: [
          `${count} members of one group, each one graphql-ws connection (setTyping over it, chatEvents subscribed); ` +
            `TypingChanged goes out when the list of typers changes: all typing throughout, renewals change nothing`,
        ],
      }),
    );
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await server.stop();
  }
}
