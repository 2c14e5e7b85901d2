/**
 * What a history page with reactions and replies costs in database commands (issue 16): the same
 * at 10 and 100 messages. On a server of its own: a fresh database keeps FerretDB's scans short.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REACTIONS_HISTORY_PAGE } from '../bench/queries.js';
import { createGroup, gqlOk, ok } from './support/groups.js';
import { lifecycleCalls, type Message } from './support/lifecycle.js';
import { startTestServer, type TestServer } from './support/server.js';
import { registerUser } from './support/users.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const { send, react } = lifecycleCalls(() => server);

describe('database commands', () => {
  it(
    'a history page with reactions and replies costs the same at 10 and 100 messages',
    { timeout: 120_000 },
    async () => {
      const [alice, bob, carol] = await Promise.all([
        registerUser(server),
        registerUser(server),
        registerUser(server),
      ]);
      const group = await createGroup(server, alice, [bob, carol]);
      const people = [alice, bob, carol];
      const messages: Message[] = [];
      for (let index = 0; index < 100; index += 1) {
        // Every other message replies to the one before it.
        const quoted = index % 2 ? messages.at(-1)?.id : undefined;
        messages.push(await send(people[index % 3]!, group.id, `message ${index}`, quoted));
      }
      // A few at a time: they all take numbers in the one chat.
      for (let start = 0; start < messages.length; start += 10) {
        await Promise.all(
          messages.slice(start, start + 10).flatMap((message, offset) => {
            const index = start + offset;
            return [
              ok(react(people[(index + 1) % 3]!, message.id, ['👍', '🎉', '❤️'][index % 3]!)),
              index % 10 === 0 && ok(react(alice, message.id, '😂')),
            ];
          }),
        );
      }
      const commandsFor = async (last: number) => {
        let edges = 0;
        const names = await server.countCommands(async () => {
          const data = await gqlOk<{ chat: { messages: { edges: { node: Message }[] } } }>(
            server,
            REACTIONS_HISTORY_PAGE,
            { chatId: group.id, last },
            alice,
          );
          edges = data.chat.messages.edges.length;
          const nodes = data.chat.messages.edges.map((edge) => edge.node);
          expect(nodes.every((node) => node.reactions.length > 0)).toBe(true);
          expect(nodes.some((node) => node.replyTo)).toBe(true);
        });
        expect(edges).toBe(last);
        return names;
      };
      const small = await commandsFor(10);
      const large = await commandsFor(100);
      console.log(
        `history with reactions and replies: last 10: ${small.length} commands [${small}]; ` +
          `last 100: ${large.length} commands [${large}]`,
      );
      expect(large).toEqual(small);
      // History reads windows of event numbers (src/timeline/pages.ts): reactions take numbers
      // without a message copy, so a page over them reads one window more.
      expect(large.length).toBeLessThanOrEqual(7);
    },
  );
});
