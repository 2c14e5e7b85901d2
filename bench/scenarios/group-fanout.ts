/**
 * Scenario 10: fan-out to one big group (issue 14). `plan.groupFanout.members` users, registered
 * through the API, in one group opened with `createGroupChat` (MAX_GROUP_MEMBERS, 1,000 by
 * default, counts the owner); every member holds ONE graphql-ws connection subscribed to the
 * group's `chatEvents` (cursor, seq, and the message's id, content and createdAt: nothing that
 * depends on who receives it). Once every subscription has received a probe and the server has
 * finished the members' presence writes, a few seconds of sends one at a time (not in the row:
 * what a send into the group costs when it waits for no other, for the notes), then scenario
 * 5's fixed-rate phase — its rate, duration and message size — with the messages sent by a few
 * members: end-to-end latency from the send to the receipt at every member (the sender's own
 * connection included), messages lost, server CPU per 1,000 deliveries. Scenario 5's machinery
 * throughout (connections, probes, senders, the latency carried in the message content, the
 * row); the notes add each message's spread (its first receipt to its last, at any member).
 *
 * FerretDB reads the whole users collection for every query on it but an `_id` lookup, so with a
 * thousand users each registration, presence write and send authentication reads them all: the
 * members are registered in batches, and the phase starts once the database is quiet.
 */
import { BSON } from 'mongodb';
import type { Bench, Window } from '../context.js';
import { row } from '../report.js';
import { ApiClient, createGroupChat, registerUsers, type BenchUser } from '../seed.js';
import { monotonicMs, percentiles, sleep } from '../util.js';
import { closeAll } from './connections.js';
import {
  closeFanout,
  connectFanout,
  fanoutRow,
  phaseName,
  runFanoutPhase,
  type FanoutRig,
} from './fanout.js';

const DB = 'bench_group';
const P99_TARGET = 50;
const REGISTER_BATCH = 100;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/**
 * A window's database commands by name, most time first: how many (per `per` operations), and
 * each one's request-to-reply time on the wire.
 */
const byName = (window: Window<unknown>, per = 1) =>
  Object.entries(window.commandsByName)
    .map(([name, count]) => ({ name, count, ms: window.commandMsByName[name] ?? 0 }))
    .sort((a, b) => b.ms - a.ms)
    .map(
      ({ name, count, ms }) =>
        `${name} ${per === 1 ? count : (count / per).toFixed(2)} × ${(ms / count).toFixed(1)} ms`,
    )
    .join(', ');

export async function groupFanoutScenario(bench: Bench): Promise<void> {
  const { plan, progress } = bench;
  const { members, senders } = plan.groupFanout;
  const title = `10 group fan-out · graphql-ws chatEvents · ${members.toLocaleString('en-US')} members`;
  // One connection per member, in the server and in a subscriber process (see run.ts).
  if (members + 1024 > bench.options.nofile) {
    progress.step(`${title}: skipped, open-file limit ${bench.options.nofile}`);
    bench.rows.push(
      row({
        scenario: title,
        unit: '',
        measured: `skipped: open-file limit ${bench.options.nofile} < ${members + 1024}`,
      }),
    );
    return;
  }

  progress.step(`${title}: starting the server`);
  const [server, subscribers, sender] = await Promise.all([
    bench.startServer(DB),
    bench.subscribers(),
    bench.senders(),
  ]);
  try {
    progress.step(`${title}: seeding`);
    const api = new ApiClient(server.baseUrl);
    const seedStarted = monotonicMs();
    const users: BenchUser[] = [];
    for (let first = 0; first < members; first += REGISTER_BATCH) {
      progress.update(`registering users ${first}/${members}`);
      const batch = Math.min(REGISTER_BATCH, members - first);
      users.push(...(await registerUsers(api, batch, 'member', { concurrency: 8, first })));
    }
    const registeredMs = monotonicMs() - seedStarted;
    progress.update(`opening a group of ${members}`);
    const [owner, ...others] = users;
    const groupStarted = monotonicMs();
    const chatId = await createGroupChat(api, owner!, `All ${members}`, others);
    const groupMs = monotonicMs() - groupStarted;
    const chatDoc = await bench.db(DB).collection('chats').findOne({ chat_id: chatId });
    const chatKb = chatDoc ? BSON.calculateObjectSize(chatDoc) / 1024 : NaN;

    const groupSenders = users
      .slice(0, senders)
      .map((user) => ({ userId: user.id, token: user.token, chatId }));
    const rig: FanoutRig = {
      bench,
      servers: [server],
      layout: {
        users,
        chatOf: new Map(users.map((user) => [user.id, chatId])),
        senders: groupSenders,
        groupSenders,
      },
      subscribers,
      sender,
    };

    progress.step(`${title}: connecting`);
    // Each member's first connection marks them online: a write per member, after the
    // subscriptions are live. The phase starts when the server has stopped querying.
    const wave = await bench.measure(server, async () => {
      const setup = await connectFanout(rig, 'graphql-ws', members, 'chatEvents');
      const settleStarted = monotonicMs();
      progress.update('waiting for the database to go quiet');
      await bench.settle(server, Math.min(500, plan.settleMs), 180_000);
      return { setup, settleMs: monotonicMs() - settleStarted };
    });
    const { setup, settleMs } = wave.result;

    // One send at a time: a send's own cost, without waiting for others (messages of no phase
    // the subscribers count; their deliveries are let finish before the measured phase).
    progress.step(`${title}: sends one at a time`);
    const alone = await bench.measure(server, () =>
      sender.call('closedLoop', {
        baseUrl: server.baseUrl,
        senders: groupSenders,
        phase: 'alone',
        bytes: plan.fanout.bytes,
        concurrency: 1,
        durationMs: plan.groupFanout.aloneSeconds * 1000,
      }),
    );
    await sleep(plan.settleMs);
    await bench.settle(server);
    const aloneSends = alone.result.sent.filter((entry) => entry.ok).length;
    const aloneAcks = percentiles(alone.result.acks);
    const perSend = (value: number) => (value / Math.max(1, aloneSends)).toFixed(1);

    const phase = phaseName(bench, 'fixed');
    progress.step(`${title}: ${phase}`);
    const result = await runFanoutPhase(rig, 'fixed', setup.audience);
    const acks = percentiles(result.window.result.acks);
    const okSends = result.window.result.sent.filter((entry) => entry.ok).length;
    const spreads = percentiles(result.deliveries.spreads);
    bench.rows.push(
      fanoutRow(rig, result, {
        scenario: `${title} · ${phase}`,
        phase: 'fixed',
        setupNote: setup.note,
        p99Target: P99_TARGET,
        extraNotes: [
          `sent by ${senders} members (each message by one of them at random); each message reaches all ${members} connections (its sender's too); ` +
            `send to acknowledgement p50 ${acks.p50.toFixed(1)}, p99 ${acks.p99.toFixed(1)} ms; ` +
            `a message's first to last receipt p50 ${spreads.p50.toFixed(1)}, p99 ${spreads.p99.toFixed(1)}, max ${spreads.max.toFixed(1)} ms`,
          `one send at a time (${aloneSends} sends, before the phase): acknowledged p50 ${aloneAcks.p50.toFixed(1)}, ` +
            `p99 ${aloneAcks.p99.toFixed(1)} ms; per send (its ${members} deliveries included) server CPU ${perSend(alone.cpuMs)} ms, ` +
            `FerretDB CPU ${perSend(alone.dbCpuMs)} ms, DB commands per send × their request-to-reply time: ${byName(alone, aloneSends)}; ` +
            `the group's chat document (read by every send and subscription) is ${chatKb.toFixed(0)} KB of BSON`,
          `during the phase, DB commands per send × their request-to-reply time (waiting for FerretDB included): ` +
            byName(result.window, okSends),
          `seeding: ${members} users registered in ${seconds(registeredMs)} (batches of ${REGISTER_BATCH}, 8 at a time), ` +
            `createGroupChat with ${others.length} memberIds ${seconds(groupMs)}`,
          `connecting ${members} members, their presence writes and the probes: ${wave.commands} DB commands (${byName(wave)}), ` +
            `server CPU ${seconds(wave.cpuMs)}; the database went quiet ${seconds(settleMs)} after the last subscription was live`,
        ],
      }),
    );
    progress.step(`${title}: closing`);
    await closeFanout(rig);
  } finally {
    // Connections left open by a failure would confuse the next scenario's readiness checks.
    await closeAll(subscribers).catch(() => undefined);
    await server.stop();
  }
}
