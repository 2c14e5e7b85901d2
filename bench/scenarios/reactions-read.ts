/**
 * Scenario 3, issue 16: database commands of a group's history page whose messages all have
 * reactions (one to three emoji, from one to three members) and every other one replies to the
 * one before, with `reactions { users }` and `replyTo { sender }` selected: constant in the page
 * size, the reactions of a page read in one query and the messages it quotes in another.
 */
import type { Bench, Measured } from '../context.js';
import { ADD_REACTION, REACTIONS_HISTORY_PAGE, SEND_REPLY } from '../queries.js';
import { row } from '../report.js';
import { createGroupChat, registerUsers, type ApiClient, type BenchUser } from '../seed.js';
import type { ServerApi } from '../server.js';
import { mapLimit } from '../util.js';

const EMOJI = ['👍', '🎉', '❤️', '😂'];

interface Seeded {
  viewer: BenchUser;
  chatId: string;
}

async function seed(bench: Bench, api: ApiClient): Promise<Seeded> {
  const count = bench.plan.read.reactionHistory;
  const people = await registerUsers(api, 3, 'reacting');
  const [viewer, ...others] = people;
  const chatId = await createGroupChat(api, viewer!, 'Bench reactions', others);
  bench.progress.update(`${count} messages with replies`);
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const data = await api.gql<{ sendMessage: { id: string } }>(
      SEND_REPLY,
      {
        chatId,
        content: `message ${index} with reactions`,
        replyTo: index % 2 ? ids.at(-1) : undefined,
      },
      people[index % 3]!.token,
    );
    ids.push(data.sendMessage.id);
  }
  bench.progress.update(`reactions on ${count} messages`);
  const reactions = ids.flatMap((messageId, index) =>
    Array.from({ length: (index % 3) + 1 }, (_, k) => ({
      messageId,
      emoji: EMOJI[(index + k) % EMOJI.length]!,
      user: people[(index + k) % 3]!,
    })),
  );
  // A few at a time: they take numbers in the one chat.
  await mapLimit(reactions, 4, ({ messageId, emoji, user }) =>
    api.gql(ADD_REACTION, { messageId, emoji }, user.token),
  );
  return { viewer: viewer!, chatId };
}

interface Page {
  chat: { messages: { edges: { node: { reactions: unknown[]; replyTo: unknown } }[] } };
}

export async function reactionsHistoryRow(
  bench: Bench,
  server: Measured<ServerApi>,
  api: ApiClient,
): Promise<void> {
  const { plan, progress } = bench;
  const large = plan.read.reactionHistory;
  const small = Math.min(10, large);
  progress.step(`3 DB commands: history page with reactions and replies, seeding ${large}`);
  const { viewer, chatId } = await seed(bench, api);
  const page = (last: number) => () =>
    api.gql<Page>(REACTIONS_HISTORY_PAGE, { chatId, last }, viewer.token);
  const nodes = (await page(large)()).chat.messages.edges.map((edge) => edge.node);
  if (
    nodes.length !== large ||
    nodes.some((node) => node.reactions.length === 0) ||
    !nodes.some((node) => node.replyTo)
  ) {
    throw new Error(`history with reactions: unexpected page ${JSON.stringify(nodes[0])}`);
  }
  const commands = async (last: number, times = plan.commandSamples) => {
    const window = await bench.measure(server, async () => {
      for (let index = 0; index < times; index += 1) await page(last)();
    });
    return { perRequest: window.commands / times, names: window.commandsByName };
  };
  const smallCmds = await commands(small);
  const largeCmds = await commands(large);
  await server.worker.call('setBatchLoads', false);
  const unbatched = await commands(large, 1).finally(() =>
    server.worker.call('setBatchLoads', true),
  );
  const constant = smallCmds.perRequest === largeCmds.perRequest;
  bench.rows.push(
    row({
      scenario: '3 DB cmds · GraphQL history page, reactions + replies',
      unit: 'request',
      ops: plan.commandSamples,
      dbCommandsPerOp: largeCmds.perRequest,
      target: 'constant in page size',
      measured: `${smallCmds.perRequest}→${largeCmds.perRequest} (last ${small}/${large}); batching off ${unbatched.perRequest}`,
      met: constant,
      notes: [
        'messages(last) { sender reactions { emoji count reactedByMe users { id username } } replyTo { content isDeleted sender { id } } }: ' +
          `1–3 reactions on every message from 3 members, every other message a reply`,
        `commands of ${plan.commandSamples} requests, batching on: last ${large} ${JSON.stringify(largeCmds.names)}` +
          (constant ? '' : `; last ${small} ${JSON.stringify(smallCmds.names)}`) +
          `; batching off, 1 request: ${JSON.stringify(unbatched.names)}`,
      ],
    }),
  );
}
