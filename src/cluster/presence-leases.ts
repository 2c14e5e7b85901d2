/**
 * Who is connected where, across instances, as leases in Redis. An instance holds a lease on a
 * user while it has a live connection of theirs and renews it every third of the lease time; a
 * user is online while any unexpired lease on them exists. The leases of an instance that died
 * expire, and whichever instance sweeps next finds the users left without one.
 *
 * Every change of a user's status is decided here, atomically, and numbered; the latest decision
 * per user is kept for a minute, so that a database write overtaken by a later one can be
 * corrected (see presence.ts).
 *
 * Keys under `zerohour:presence:`: `user:<id>` (sorted set: instance → lease expiry, ms), `due`
 * (sorted set: user → latest expiry, when to look again), `decided:<id>` (latest decision),
 * `seq` (decision counter). Scripts use Redis's clock, so the instances' clocks do not matter;
 * they compute key names, so Redis must be a single node (or Sentinel), not Redis Cluster.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const PREFIX = 'zerohour:presence:';
const KEYS = [`${PREFIX}seq`, `${PREFIX}due`];
/** Users per renewal call and per sweep. */
const BATCH = 500;
/** How long the latest decision on a user is kept: far longer than a database write takes. */
const DECIDED_MS = 60_000;

const PRELUDE = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function leases(user) return ARGV[1] .. 'user:' .. user end
local function decide(user, online)
  if redis.call('EXISTS', KEYS[1]) == 0 then
    -- Restarted without its data: continue from the clock, above every number handed out before.
    redis.call('SET', KEYS[1], clock[1] .. string.format('%06d', tonumber(clock[2])))
  end
  local seq = string.format('%.0f', redis.call('INCR', KEYS[1]))
  redis.call('SET', ARGV[1] .. 'decided:' .. user, seq .. ':' .. online, 'PX', ARGV[2])
  return {user, seq, online}
end
`;

/** ARGV: prefix, decided ms, instance, lease ms, users… → online decisions for users this instance had no live lease on. */
const RENEW = `${PRELUDE}
local out = {}
local expires = now + tonumber(ARGV[4])
for i = 5, #ARGV do
  local key = leases(ARGV[i])
  local held = redis.call('ZSCORE', key, ARGV[3])
  redis.call('ZADD', key, expires, ARGV[3])
  redis.call('ZADD', KEYS[2], 'GT', expires, ARGV[i])
  if not held or tonumber(held) <= now then out[#out + 1] = decide(ARGV[i], 1) end
end
return out`;

/** ARGV: prefix, decided ms, instance, user → an offline decision if no lease on the user is left. */
const RELEASE = `${PRELUDE}
local key = leases(ARGV[4])
redis.call('ZREM', key, ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) > 0 then return {} end
redis.call('ZREM', KEYS[2], ARGV[4])
return {decide(ARGV[4], 0)}`;

/** ARGV: prefix, decided ms, limit → offline decisions for users whose last lease expired. */
const SWEEP = `${PRELUDE}
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, user in ipairs(due) do
  local key = leases(user)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local latest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if latest[2] then
    redis.call('ZADD', KEYS[2], latest[2], user)
  else
    redis.call('ZREM', KEYS[2], user)
    out[#out + 1] = decide(user, 0)
  end
end
return out`;

/** ARGV: prefix, decided ms, user, 0 or 1 → that decision. */
const DECIDE = `${PRELUDE}
return {decide(ARGV[3], tonumber(ARGV[4]))}`;

/** A status change decided in Redis; `seq` orders the decisions of every instance. */
export interface Decision {
  userId: string;
  seq: number;
  online: boolean;
}

type Script = (...args: (string | number)[]) => Promise<Decision[]>;

function defineScript(client: Redis, name: string, lua: string): Script {
  client.defineCommand(name, { numberOfKeys: KEYS.length, lua });
  const command = (client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[
    name
  ]!;
  return async (...args) => {
    const reply = (await command.call(client, ...KEYS, PREFIX, DECIDED_MS, ...args)) as [
      string,
      string,
      number,
    ][];
    return reply.map(([userId, seq, online]) => ({ userId, seq: Number(seq), online: !!online }));
  };
}

export function createPresenceLeases(client: Redis, leaseSeconds: number) {
  const instance = randomUUID();
  const leaseMs = Math.round(leaseSeconds * 1000);
  const renew = defineScript(client, 'zerohourPresenceRenew', RENEW);
  const release = defineScript(client, 'zerohourPresenceRelease', RELEASE);
  const sweep = defineScript(client, 'zerohourPresenceSweep', SWEEP);
  const decide = defineScript(client, 'zerohourPresenceDecide', DECIDE);

  return {
    heartbeatMs: leaseMs / 3,
    /** Takes or extends this instance's leases; decides online whoever had none from it. */
    async renew(userIds: string[]): Promise<Decision[]> {
      const decided: Decision[] = [];
      for (let i = 0; i < userIds.length; i += BATCH) {
        decided.push(...(await renew(instance, leaseMs, ...userIds.slice(i, i + BATCH))));
      }
      return decided;
    },
    /** Drops this instance's lease; decides offline if the user has no lease left anywhere. */
    release: async (userId: string): Promise<Decision | null> =>
      (await release(instance, userId))[0] ?? null,
    /** Decides offline the users whose last lease expired (their instance stopped renewing). */
    sweep: () => sweep(BATCH),
    /** A decision made without the leases (login, logout). */
    decide: async (userId: string, online: boolean): Promise<Decision> =>
      (await decide(userId, online ? 1 : 0))[0]!,
    /** The latest decision on the user, if made in the last minute. */
    async latest(userId: string): Promise<Decision | null> {
      const value = await client.get(`${PREFIX}decided:${userId}`);
      const [seq, online] = value?.split(':') ?? [];
      return seq ? { userId, seq: Number(seq), online: online === '1' } : null;
    },
  };
}

export type PresenceLeases = ReturnType<typeof createPresenceLeases>;
