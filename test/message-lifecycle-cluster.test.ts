/**
 * Message changes on three instances sharing one database (FerretDB, whose conditional updates
 * are not atomic) and one Redis: edits, deletions and reactions that race on different instances
 * end as on one, and a subscriber on a third instance receives every change once, in order.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCluster, type Cluster } from './support/cluster.js';
import { codesOf, subscribe, type Live } from './support/groups.js';
import {
  CHAT_EVENTS,
  lifecycleCalls,
  type Message,
  type TimelineEvent,
} from './support/lifecycle.js';
import { createChat, registerUser } from './support/users.js';
import { cleanupAfterEach, sleep, waitFor } from './support/wait.js';

const TIMEOUT = 15_000;
/** How long to keep listening for something that must not arrive. */
const GRACE = 800;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ mongoUrl: inject('mongoUrl') });
}, 120_000);
afterAll(() => cluster?.stop(), 60_000);

const cleanups = cleanupAfterEach();
const on = (index: number) => lifecycleCalls(() => cluster.instances[index]!);

async function pair() {
  const [alice, bob] = await Promise.all([
    registerUser(cluster.instances[0]!),
    registerUser(cluster.instances[1]!),
  ]);
  return { alice, bob, chatId: await createChat(cluster.instances[2]!, alice, bob) };
}

function events(index: number, caller: { id: string; token: string }, chatId: string) {
  const live: Live<TimelineEvent> = subscribe(
    cluster.instances[index]!,
    caller,
    CHAT_EVENTS,
    { chatId },
    (data) => data.chatEvents as TimelineEvent,
  );
  cleanups.push(() => live.close());
  return live;
}

describe('message changes across instances', () => {
  it('edits, deletions and reactions racing on three instances: deleted ends deleted, each change reaches a subscriber once, in order', async () => {
    const { alice, bob, chatId } = await pair();
    const live = events(2, bob, chatId);
    let probe: Message;
    for (let attempt = 0; ; attempt += 1) {
      probe = await on(0).send(alice, chatId, `probe ${attempt}`);
      const seen = await waitFor(
        () => live.items.some((event) => event.message.id === probe.id),
        'a probe',
        500,
      ).then(
        () => true,
        () => false,
      );
      if (seen) break;
    }
    const start = live.items.at(-1)!.seq;
    const targets = await Promise.all(
      Array.from({ length: 6 }, (_, index) => on(index % 3).send(alice, chatId, `secret ${index}`)),
    );
    const outcomes = await Promise.all(
      targets.flatMap((target, index) => [
        on(index % 3).edit(alice, target.id, `secret ${index}, edited`),
        on((index + 1) % 3).remove(alice, target.id),
        on((index + 2) % 3).react(bob, target.id, '👍'),
        on(index % 3).react(bob, target.id, '👍'),
      ]),
    );
    for (const outcome of outcomes) {
      expect(codesOf(outcome).every((code) => code === 'BAD_USER_INPUT')).toBe(true);
    }

    const stored = await cluster.db.events
      .find({ chat_id: chatId, seq: { $gt: start } })
      .sort({ seq: 1 })
      .toArray();
    expect(stored.map((event) => event.seq)).toEqual(stored.map((_, index) => start + 1 + index));
    expect(JSON.stringify(stored)).not.toContain('secret');
    expect(
      JSON.stringify(await cluster.db.messages.find({ chat_id: chatId }).toArray()),
    ).not.toContain('secret');
    expect(
      await cluster.db.reactions.countDocuments({ message_id: { $in: targets.map((t) => t.id) } }),
    ).toBe(0);
    for (const target of targets) {
      const kinds = stored.filter((event) => event.target_id === target.id).map((e) => e.type);
      expect(kinds.at(-1)).toBe('deleted');
      expect(kinds.filter((kind) => kind === 'deleted')).toHaveLength(1);
      // At most one reaction event stored for the two identical adds before the deletion.
      expect(kinds.filter((kind) => kind === 'reactions').length).toBeLessThanOrEqual(1);
    }

    const after = () => live.items.filter((event) => event.seq > start);
    await waitFor(() => after().length === stored.length, `${stored.length} events`, TIMEOUT);
    await sleep(GRACE);
    expect(after().map((event) => event.seq)).toEqual(stored.map((event) => event.seq));
    const final = new Map<string, Message>();
    for (const event of after()) final.set(event.message.id, event.message);
    for (const target of targets) {
      expect(final.get(target.id)).toMatchObject({ isDeleted: true, content: '', reactions: [] });
      for (const index of [0, 1, 2]) {
        const history = await on(index).historyAs(bob, chatId);
        expect(history.messages.find((message) => message.id === target.id)).toMatchObject({
          isDeleted: true,
          content: '',
        });
      }
    }
    expect((await on(1).historyAs(alice, chatId)).lastMessagePreview).toBe(probe!.content);
  });

  it('identical reactions from every instance count once; one user’s racing reactions stop at three', async () => {
    const { alice, bob, chatId } = await pair();
    const message = await on(0).send(alice, chatId, 'react from everywhere');
    const same = await Promise.all(
      Array.from({ length: 9 }, (_, index) => on(index % 3).react(bob, message.id, '🔥')),
    );
    expect(same.flatMap((reply) => reply.errors ?? [])).toEqual([]);
    const distinct = await Promise.all(
      ['😀', '😂', '😍', '😎', '🤔', '😴'].map((emoji, index) =>
        on(index % 3).react(alice, message.id, emoji),
      ),
    );
    expect(distinct.filter((reply) => codesOf(reply).includes('BAD_USER_INPUT'))).toHaveLength(3);
    const read = await on(2).messageAs(bob, chatId, message.id);
    expect(read.reactions.find((group) => group.emoji === '🔥')).toMatchObject({ count: 1 });
    expect(
      read.reactions.filter((group) => group.users.some((user) => user.id === alice.id)),
    ).toHaveLength(3);
    expect(await cluster.db.reactions.countDocuments({ message_id: message.id })).toBe(4);
  });
});
