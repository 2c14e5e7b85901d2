/**
 * Scenarios 1–3: the read path. A seeded user with `plan.read.chats` chats (two messages each)
 * and one busy chat; the chats page and a history page over GraphQL, REST and the raw baseline
 * (A B A B), then database commands per request with DataLoader batching on and off — also for
 * the chats page of a second user whose chats are half groups, with each chat's members (issue
 * 14), seeded after scenarios 1 and 2 so that their collections are the same as before.
 */
import type { Bench, Measured } from '../context.js';
import { CHATS_PAGE, HISTORY_PAGE, MIXED_CHATS_PAGE, READ_STATE_CHATS_PAGE } from '../queries.js';
import { row } from '../report.js';
import {
  ApiClient,
  createChat,
  createGroupChat,
  registerUsers,
  sendMessage,
  type BenchUser,
} from '../seed.js';
import type { ServerApi } from '../server.js';
import { mapLimit } from '../util.js';
import { alternate, cpuPerOp, rowOf, type Variant } from './http-runs.js';
import { reactionsHistoryRow } from './reactions-read.js';

const RATIO_TARGET = 1.5;
const fmt = (value: number) => String(Math.round(value * 100) / 100);
const COMMANDS_TARGET = 4;

interface ReadData {
  viewer: BenchUser;
  busyChat: string;
}

async function seed(bench: Bench, api: ApiClient): Promise<ReadData> {
  const { chats, historyMessages } = bench.plan.read;
  bench.progress.update(`registering ${chats + 1} users`);
  const [viewer, ...others] = await registerUsers(api, chats + 1, 'reader');
  bench.progress.update(`creating ${chats} chats with messages`);
  const chatIds = await mapLimit(others, 4, async (other) => {
    const chatId = await createChat(api, viewer!, other);
    await sendMessage(api, other, chatId, `hello from ${other.username}`);
    await sendMessage(api, viewer!, chatId, `hi ${other.username}, how are you?`);
    return chatId;
  });
  const busyChat = chatIds[0]!;
  bench.progress.update(`writing ${historyMessages} messages into one chat`);
  await mapLimit(
    Array.from({ length: historyMessages }, (_, index) => index),
    4,
    (index) =>
      sendMessage(
        api,
        index % 2 ? viewer! : others[0]!,
        busyChat,
        `message number ${index} of the history`,
      ),
  );
  return { viewer: viewer!, busyChat };
}

interface MixedData {
  viewer: BenchUser;
  groups: number;
  directs: number;
  /** Users the members and the other sides are drawn from. */
  pool: number;
}

/**
 * A user with `plan.read.mixedChats` chats: one-to-one chats with the first users of a pool and
 * groups of `groupMembers` (the user as OWNER, the others drawn from the pool in turn), one
 * message in each, sent one chat of each kind after the other so that any page mixes them.
 */
async function seedMixed(bench: Bench, api: ApiClient): Promise<MixedData> {
  const { mixedChats, groupMembers, memberPool } = bench.plan.read;
  const groups = Math.floor(mixedChats / 2);
  const directs = mixedChats - groups;
  const poolSize = Math.max(memberPool, directs, groupMembers - 1);
  bench.progress.update(`registering ${poolSize + 1} users`);
  const [viewer, ...pool] = await registerUsers(api, poolSize + 1, 'mixed');
  bench.progress.update(`creating ${directs} one-to-one chats and ${groups} groups`);
  const directChats = await mapLimit(pool.slice(0, directs), 4, async (other) => ({
    chatId: await createChat(api, viewer!, other),
    sender: other,
  }));
  const groupChats = await mapLimit(
    Array.from({ length: groups }, (_, index) => index),
    4,
    async (index) => {
      const members = Array.from(
        { length: groupMembers - 1 },
        (_, k) => pool[(index * (groupMembers - 1) + k) % pool.length]!,
      );
      return {
        chatId: await createGroupChat(api, viewer!, `Bench group ${index}`, members),
        sender: members[index % members.length]!,
      };
    },
  );
  bench.progress.update(`a message in each of the ${mixedChats} chats`);
  for (let index = 0; index < Math.max(directs, groups); index += 1) {
    for (const chat of [directChats[index], groupChats[index]]) {
      if (chat) await sendMessage(api, chat.sender, chat.chatId, `news ${index} for the list`);
    }
  }
  return { viewer: viewer!, groups, directs, pool: pool.length };
}

interface MixedPage {
  chats: {
    edges: {
      node: {
        kind: string;
        otherUser: { id: string } | null;
        lastMessage: { sender: { id: string } } | null;
        members: { totalCount: number; edges: { node: { role: string; user: { id: string } } }[] };
      };
    }[];
  };
}

/** One mixed page up to: the chats of each kind, their last messages and members, as seeded. */
async function checkMixed(bench: Bench, api: ApiClient, mixed: MixedData, first: number) {
  const { groupMembers } = bench.plan.read;
  const data = await api.gql<MixedPage>(MIXED_CHATS_PAGE, { first }, mixed.viewer.token);
  const nodes = data.chats.edges.map((edge) => edge.node);
  const groups = nodes.filter((node) => node.kind === 'GROUP');
  const directs = nodes.filter((node) => node.kind === 'DIRECT');
  const shown = Math.min(groupMembers, 20);
  const wrong = [
    nodes.length !== Math.min(first, mixed.groups + mixed.directs) && `${nodes.length} chats`,
    (groups.length === 0 || directs.length === 0) && 'not mixed',
    groups.some(
      (node) =>
        node.members.totalCount !== groupMembers ||
        node.members.edges.length !== shown ||
        node.members.edges.filter((edge) => edge.node.role === 'OWNER').length !== 1 ||
        node.otherUser !== null,
    ) && 'a group is wrong',
    directs.some((node) => node.members.totalCount !== 2 || !node.otherUser) &&
      'a one-to-one chat is wrong',
    nodes.some((node) => !node.lastMessage?.sender.id) && 'a last message is missing',
  ].filter(Boolean);
  if (wrong.length) {
    throw new Error(
      `mixed chats page (first ${first}): ${wrong.join(', ')}: ${JSON.stringify(data).slice(0, 400)}`,
    );
  }
  return { groups: groups.length, directs: directs.length };
}

const gqlRequest = (token: string, query: string, variables: Record<string, unknown>) => ({
  method: 'POST' as const,
  url: '',
  headers: {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json',
    authorization: `Bearer ${token}`,
  },
  body: JSON.stringify({ query, variables }),
});
const getRequest = (url: string, token: string) => ({
  method: 'GET' as const,
  url,
  headers: { authorization: `Bearer ${token}` },
});

/** One request of each variant up front: the right answer, or the run is pointless. */
async function check(name: string, variant: Variant, expectItems: number) {
  const { request } = variant;
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  const body = (await response.json()) as unknown;
  const text = JSON.stringify(body);
  const items = Array.isArray(body)
    ? body.length
    : (text.match(/"node":/g) ?? []).length || (text.match(/"cursor":/g) ?? []).length;
  if (!response.ok || text.includes('"errors"') || items !== expectItems) {
    throw new Error(
      `${name}: unexpected answer (${response.status}, ${items} items): ${text.slice(0, 400)}`,
    );
  }
}

async function countCommands(
  bench: Bench,
  target: Measured,
  request: () => Promise<unknown>,
  times = bench.plan.commandSamples,
) {
  const window = await bench.measure(target, async () => {
    for (let index = 0; index < times; index += 1) await request();
  });
  return { perRequest: window.commands / times, names: window.commandsByName };
}

export async function readScenarios(bench: Bench, server: Measured<ServerApi>): Promise<void> {
  const { plan, progress } = bench;
  const read = plan.read;
  progress.step('1–3 read path: seeding');
  const api = new ApiClient(server.baseUrl);
  const [data, raw] = await Promise.all([seed(bench, api), bench.startRawBaseline('bench_read')]);
  try {
    const { viewer, busyChat } = data;
    const token = viewer.token;
    const runOptions = {
      rounds: read.rounds,
      seconds: read.runSeconds,
      connections: read.connections,
    };
    const chatsShown = Math.min(read.chats, read.chatsPage);
    const historyShown = Math.min(read.historyMessages + 2, read.historyPage);

    // Scenario 1: the chats page.
    const chats: Variant[] = [
      {
        name: 'GraphQL',
        target: server,
        request: {
          ...gqlRequest(token, CHATS_PAGE, { first: read.chatsPage }),
          url: `${server.baseUrl}/graphql`,
        },
      },
      {
        name: 'raw (GraphQL reads)',
        target: raw,
        request: getRequest(`${raw.baseUrl}/chats`, token),
      },
      { name: 'REST', target: server, request: getRequest(`${server.baseUrl}/api/chats`, token) },
      {
        name: 'raw (REST reads)',
        target: raw,
        request: getRequest(`${raw.baseUrl}/chats-rest`, token),
      },
    ];
    for (const variant of chats) await check(variant.name, variant, chatsShown);
    progress.step(`1 chats page (${chatsShown} chats): GraphQL, REST, raw, A B A B`);
    const chatTotals = await alternate(bench, '1 chats page', chats, runOptions);

    const graphqlRatio =
      cpuPerOp(chatTotals.get('GraphQL')!) / cpuPerOp(chatTotals.get('raw (GraphQL reads)')!);
    const restRatio =
      cpuPerOp(chatTotals.get('REST')!) / cpuPerOp(chatTotals.get('raw (REST reads)')!);
    bench.rows.push(
      {
        ...rowOf('1 chats page · GraphQL', chatTotals.get('GraphQL')!),
        target: `CPU ≤ ${RATIO_TARGET}× raw`,
        measured: `${graphqlRatio.toFixed(2)}× raw`,
        met: graphqlRatio <= RATIO_TARGET,
      },
      rowOf('1 chats page · raw, GraphQL reads', chatTotals.get('raw (GraphQL reads)')!),
      {
        ...rowOf('1 chats page · REST /api/chats', chatTotals.get('REST')!),
        target: `CPU ≤ ${RATIO_TARGET}× raw`,
        measured: `${restRatio.toFixed(2)}× raw`,
        met: restRatio <= RATIO_TARGET,
      },
      rowOf('1 chats page · raw, REST reads', chatTotals.get('raw (REST reads)')!),
    );

    // Scenario 2: a history page.
    const history: Variant[] = [
      {
        name: 'GraphQL',
        target: server,
        request: {
          ...gqlRequest(token, HISTORY_PAGE, { chatId: busyChat, last: read.historyPage }),
          url: `${server.baseUrl}/graphql`,
        },
      },
      {
        name: 'raw',
        target: raw,
        request: getRequest(`${raw.baseUrl}/history/${busyChat}`, token),
      },
      {
        name: 'REST',
        target: server,
        request: getRequest(
          `${server.baseUrl}/api/chats/${busyChat}/messages?limit=${read.historyPage}`,
          token,
        ),
      },
    ];
    for (const variant of history) await check(variant.name, variant, historyShown);
    progress.step(`2 history page (${historyShown} messages): GraphQL, REST, raw, A B A B`);
    const historyTotals = await alternate(bench, '2 history page', history, runOptions);
    const rawHistory = cpuPerOp(historyTotals.get('raw')!);
    bench.rows.push(
      {
        ...rowOf('2 history page · GraphQL', historyTotals.get('GraphQL')!),
        measured: `${(cpuPerOp(historyTotals.get('GraphQL')!) / rawHistory).toFixed(2)}× raw CPU`,
      },
      {
        ...rowOf('2 history page · REST', historyTotals.get('REST')!),
        measured: `${(cpuPerOp(historyTotals.get('REST')!) / rawHistory).toFixed(2)}× raw CPU`,
      },
      rowOf('2 history page · raw', historyTotals.get('raw')!),
    );

    if (plan.profile) {
      // Separate runs (not in the figures above): where the GraphQL and the raw page spend CPU.
      const http = await bench.http();
      for (const variant of [chats[0]!, chats[1]!]) {
        progress.step(`profiling the chats page: ${variant.name}`);
        await bench.profiled(variant.target, `chats page, ${variant.name} (scenario 1)`, () =>
          http.call('run', {
            ...variant.request,
            connections: read.connections,
            durationSeconds: read.runSeconds,
          }),
        );
        await bench.settle(variant.target);
      }
    }

    // Scenario 3: database commands per request, batching on and off, two page sizes.
    progress.step('3 DB commands per request, batching on and off');
    const gql = (query: string, variables: Record<string, unknown>) => () =>
      api.gql(query, variables, token);
    const get = (path: string) => () => api.getJson(path, token);
    const smallChats = Math.min(5, read.chats);
    const smallHistory = 10;
    const cases = [
      {
        scenario: '3 DB cmds · GraphQL chats page',
        small: gql(CHATS_PAGE, { first: smallChats }),
        large: gql(CHATS_PAGE, { first: read.chatsPage }),
        sizes: `first ${smallChats}/${chatsShown}`,
      },
      {
        scenario: '3 DB cmds · GraphQL chats page, unreadCount + readPositions',
        small: gql(READ_STATE_CHATS_PAGE, { first: smallChats }),
        large: gql(READ_STATE_CHATS_PAGE, { first: read.chatsPage }),
        sizes: `first ${smallChats}/${chatsShown}`,
        // The caller, the chats, their own positions, everyone's, the count, the readers.
        limit: 6,
      },
      {
        scenario: '3 DB cmds · REST /api/chats',
        small: get('/api/chats'),
        large: get('/api/chats'),
        sizes: `${chatsShown} chats`,
      },
      {
        scenario: '3 DB cmds · GraphQL history page',
        small: gql(HISTORY_PAGE, { chatId: busyChat, last: smallHistory }),
        large: gql(HISTORY_PAGE, { chatId: busyChat, last: read.historyPage }),
        sizes: `last ${smallHistory}/${historyShown}`,
      },
      {
        scenario: '3 DB cmds · REST history',
        small: get(`/api/chats/${busyChat}/messages?limit=${smallHistory}`),
        large: get(`/api/chats/${busyChat}/messages?limit=${read.historyPage}`),
        sizes: `limit ${smallHistory}/${historyShown}`,
      },
    ];
    for (const entry of cases) {
      const small = await countCommands(bench, server, entry.small);
      const large = await countCommands(bench, server, entry.large);
      await server.worker.call('setBatchLoads', false);
      const unbatched = await countCommands(bench, server, entry.large).finally(() =>
        server.worker.call('setBatchLoads', true),
      );
      const constant = small.perRequest === large.perRequest;
      const limit = ('limit' in entry ? entry.limit : undefined) ?? COMMANDS_TARGET;
      bench.rows.push(
        row({
          scenario: entry.scenario,
          unit: 'request',
          ops: plan.commandSamples,
          dbCommandsPerOp: large.perRequest,
          target: `≤ ${limit}, constant in page size`,
          measured: `${fmt(small.perRequest)}→${fmt(large.perRequest)} (${entry.sizes}); batching off ${fmt(unbatched.perRequest)}`,
          met: constant && large.perRequest <= limit,
          notes: [
            `commands of ${plan.commandSamples} requests, batching on: ${JSON.stringify(large.names)}` +
              (small.perRequest === large.perRequest
                ? ''
                : `; smaller page: ${JSON.stringify(small.names)}`),
          ],
        }),
      );
    }
    // Issue 14: the chats page of a user with one-to-one and group chats, members on each.
    progress.step(
      `3 DB commands: chats page with groups and members, seeding ${read.mixedChats} chats`,
    );
    const mixed = await seedMixed(bench, api);
    const mixedSmall = Math.min(5, read.mixedChats);
    const smallKinds = await checkMixed(bench, api, mixed, mixedSmall);
    const largeKinds = await checkMixed(bench, api, mixed, read.mixedChats);
    const mixedQuery = (first: number) => () =>
      api.gql(MIXED_CHATS_PAGE, { first }, mixed.viewer.token);
    progress.step('3 DB commands: chats page with groups and members, batching on and off');
    const mixedSmallCmds = await countCommands(bench, server, mixedQuery(mixedSmall));
    const mixedLargeCmds = await countCommands(bench, server, mixedQuery(read.mixedChats));
    await server.worker.call('setBatchLoads', false);
    // Without batching a request costs one query per distinct key: the same every time, so one.
    const mixedUnbatched = await countCommands(
      bench,
      server,
      mixedQuery(read.mixedChats),
      1,
    ).finally(() => server.worker.call('setBatchLoads', true));
    const mixedConstant = mixedSmallCmds.perRequest === mixedLargeCmds.perRequest;
    const describe = (kinds: { groups: number; directs: number }) =>
      `${kinds.groups} groups + ${kinds.directs} one-to-one`;
    bench.rows.push(
      row({
        scenario: '3 DB cmds · GraphQL chats page, groups + members',
        unit: 'request',
        ops: plan.commandSamples,
        dbCommandsPerOp: mixedLargeCmds.perRequest,
        target: 'constant in page size',
        measured: `${fmt(mixedSmallCmds.perRequest)}→${fmt(mixedLargeCmds.perRequest)} (first ${mixedSmall}/${read.mixedChats}); batching off ${fmt(mixedUnbatched.perRequest)}`,
        met: mixedConstant,
        notes: [
          `chats(first) { kind title lastMessage { sender } members(first: 20) { totalCount edges { node { role user { id } } } } }: ` +
            `first ${mixedSmall} = ${describe(smallKinds)}, first ${read.mixedChats} = ${describe(largeKinds)}; ` +
            `groups of ${read.groupMembers} members drawn from ${mixed.pool} users`,
          `commands of ${plan.commandSamples} requests, batching on: first ${read.mixedChats} ${JSON.stringify(mixedLargeCmds.names)}` +
            (mixedConstant ? '' : `; first ${mixedSmall} ${JSON.stringify(mixedSmallCmds.names)}`) +
            `; batching off, 1 request: ${JSON.stringify(mixedUnbatched.names)}`,
        ],
      }),
    );

    // Issue 16: a history page with reactions and replies.
    await reactionsHistoryRow(bench, server, api);

    const rawChats = await countCommands(bench, raw, () =>
      fetch(`${raw.baseUrl}/chats`, { headers: { authorization: `Bearer ${token}` } }).then((r) =>
        r.text(),
      ),
    );
    const rawHistoryCommands = await countCommands(bench, raw, () =>
      fetch(`${raw.baseUrl}/history/${busyChat}`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.text()),
    );
    bench.rows.push(
      row({
        scenario: '3 DB cmds · raw baseline',
        unit: 'request',
        ops: plan.commandSamples,
        dbCommandsPerOp: rawChats.perRequest,
        measured: `chats ${rawChats.perRequest}, history ${rawHistoryCommands.perRequest}`,
      }),
    );
  } finally {
    await raw.stop();
  }
}
