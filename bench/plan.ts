/** How big and how long each scenario runs: the full benchmark, or the seconds-long smoke mode. */
import type { Transport } from './load/protocol.js';
import type { ResumeFeed } from './load/resumers.js';

export interface Plan {
  quick: boolean;
  read: {
    /** Chats of the seeded user (each with two messages). */
    chats: number;
    /** Messages in the chat whose history is read. */
    historyMessages: number;
    chatsPage: number;
    historyPage: number;
    runSeconds: number;
    /** Rounds of the A B A B alternation. */
    rounds: number;
    connections: number;
    /**
     * Scenario 3, issue 14: chats of a second user, half one-to-one and half groups of
     * `groupMembers` (members drawn in turn from `memberPool` users, who are also the other
     * sides of the one-to-one chats), each with one message.
     */
    mixedChats: number;
    groupMembers: number;
    memberPool: number;
    /** Scenario 3, issue 16: messages of the group whose history page has reactions and replies. */
    reactionHistory: number;
  };
  send: {
    seconds: number;
    connections: number;
    legacySenders: number;
    window: number;
    bytes: number;
  };
  fanout: {
    sizes: number[];
    transports: Transport[];
    /** Distinct users the connections belong to (see the README: the database scans). */
    users: number;
    /** Users in one group chat; the other users are paired in one-to-one chats. */
    groupSize: number;
    groups: number;
    /** Messages per second of the fixed-rate phase. */
    rate: number;
    fixedSeconds: number;
    saturationSeconds: number;
    saturationConcurrency: number;
    bytes: number;
  };
  /**
   * Scenario 8: the fixed-rate fan-out phase against several instances sharing the database and a
   * Redis (users, chats, rate and message size as in `fanout`).
   */
  cluster: {
    instances: number;
    sizes: number[];
    transports: Transport[];
  };
  idle: {
    sizes: number[];
    transports: Transport[];
    users: number;
    holdSeconds: number;
  };
  /**
   * Scenario 10: one group of `members` users (MAX_GROUP_MEMBERS is 1,000 by default, the owner
   * included), each subscribed once (graphql-ws `chatEvents`); `senders` of them send at
   * scenario 5's rate, for its duration, with its message size. Before that, one send at a time
   * for `aloneSeconds`: what a send costs when it waits for no other.
   */
  groupFanout: {
    members: number;
    senders: number;
    aloneSeconds: number;
  };
  /**
   * Scenario 11 (issue 15): `users` members of one group, each with a graphql-ws connection,
   * call `setTyping(true)` `keystrokesPerSecond` times a second for `seconds`.
   */
  typing: {
    users: number;
    keystrokesPerSecond: number;
    seconds: number;
  };
  /**
   * Scenario 9: two users send into one chat (closed loop, `lanes` mutations in flight each)
   * while `subscribers` clients of it drop their connection and resume from their last position
   * every `reconnectMs`.
   */
  resume: {
    feeds: ResumeFeed[];
    subscribers: number;
    reconnectMs: number;
    lanes: number;
    /** Sends with the connections held: the database commands of a send, to tell them apart. */
    calibrationSeconds: number;
    seconds: number;
    bytes: number;
  };
  /**
   * Scenario 13 (issue 19): the database grows to each of `sizes` messages, a quarter of them in
   * one long chat (at most `longChat`), the rest over `chats` chats of `users` users; each read
   * is timed `runs` times at every size.
   */
  dataSize: { sizes: number[]; longChat: number; chats: number; users: number; runs: number };
  yoga: { runSeconds: number; rounds: number; connections: number };
  /**
   * Scenario 12: attachment uploads (GridFS, through the server). `rounds` uploads of `mib` MiB
   * one after another (throughput), then `parallel` of them at once while the server's RSS is
   * sampled (it must stay flat: the bytes are streamed, never held whole).
   */
  upload: { mib: number; rounds: number; parallel: number };
  /**
   * A fresh server for scenario 7 and for each idle run (clean figures), or reuse one (quick:
   * fewer process starts).
   */
  freshServers: boolean;
  /** Requests per database-command count (scenario 3). */
  commandSamples: number;
  /** Pause for sockets and background writes to settle between steps, ms. */
  settleMs: number;
  /** CPU profiles of the read path and the largest fan-out, heap profiles of idle connections. */
  profile: boolean;
}

export function makePlan(quick: boolean, profile: boolean | undefined): Plan {
  if (quick) {
    return {
      quick,
      read: {
        chats: 10,
        historyMessages: 20,
        chatsPage: 50,
        historyPage: 100,
        runSeconds: 0.5,
        rounds: 1,
        connections: 4,
        mixedChats: 10,
        groupMembers: 10,
        memberPool: 10,
        reactionHistory: 20,
      },
      send: { seconds: 0.5, connections: 4, legacySenders: 2, window: 4, bytes: 100 },
      fanout: {
        sizes: [100],
        transports: ['graphql-ws', 'legacy-ws', 'sse'],
        users: 20,
        groupSize: 5,
        groups: 2,
        rate: 20,
        fixedSeconds: 0.5,
        saturationSeconds: 0.5,
        saturationConcurrency: 4,
        bytes: 1024,
      },
      cluster: { instances: 3, sizes: [100], transports: ['graphql-ws', 'legacy-ws'] },
      groupFanout: { members: 20, senders: 2, aloneSeconds: 0.3 },
      typing: { users: 10, keystrokesPerSecond: 10, seconds: 2.5 },
      idle: {
        sizes: [200],
        transports: ['graphql-ws', 'legacy-ws'],
        users: 5,
        holdSeconds: 0.2,
      },
      resume: {
        feeds: ['chatEvents', 'messageAdded', 'legacy-sse'],
        subscribers: 4,
        reconnectMs: 100,
        lanes: 3,
        calibrationSeconds: 0.2,
        seconds: 0.6,
        bytes: 100,
      },
      dataSize: { sizes: [300, 1000], longChat: 250, chats: 10, users: 10, runs: 5 },
      yoga: { runSeconds: 0.5, rounds: 1, connections: 8 },
      upload: { mib: 2, rounds: 2, parallel: 4 },
      freshServers: false,
      commandSamples: 2,
      settleMs: 200,
      profile: profile ?? false,
    };
  }
  return {
    quick,
    read: {
      chats: 50,
      historyMessages: 100,
      chatsPage: 50,
      historyPage: 100,
      runSeconds: 3,
      rounds: 4,
      connections: 4,
      mixedChats: 50,
      groupMembers: 20,
      memberPool: 40,
      reactionHistory: 100,
    },
    send: { seconds: 8, connections: 8, legacySenders: 4, window: 8, bytes: 100 },
    fanout: {
      sizes: [1000, 5000],
      transports: ['graphql-ws', 'legacy-ws', 'sse'],
      users: 40,
      groupSize: 10,
      groups: 2,
      rate: 10,
      fixedSeconds: 10,
      saturationSeconds: 8,
      saturationConcurrency: 8,
      bytes: 1024,
    },
    cluster: { instances: 3, sizes: [1000], transports: ['graphql-ws', 'legacy-ws', 'sse'] },
    groupFanout: { members: 1000, senders: 4, aloneSeconds: 3 },
    typing: { users: 100, keystrokesPerSecond: 10, seconds: 10 },
    idle: {
      sizes: [1000, 10_000],
      transports: ['graphql-ws', 'legacy-ws'],
      users: 10,
      holdSeconds: 5,
    },
    resume: {
      feeds: ['chatEvents', 'messageAdded', 'legacy-sse'],
      subscribers: 20,
      reconnectMs: 100,
      lanes: 3,
      calibrationSeconds: 1,
      seconds: 8,
      bytes: 100,
    },
    dataSize: {
      sizes: [1000, 10_000, 200_000],
      longChat: 50_000,
      chats: 100,
      users: 50,
      runs: 30,
    },
    yoga: { runSeconds: 2, rounds: 4, connections: 16 },
    upload: { mib: 10, rounds: 10, parallel: 20 },
    freshServers: true,
    commandSamples: 5,
    settleMs: 1000,
    profile: profile ?? true,
  };
}
