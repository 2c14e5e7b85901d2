import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** A development-only secret is generated per start; production must bring its own. */
const MIN_SECRET_BYTES = 32;

/**
 * Secrets anyone can read: the old backend's hard-coded one (config.py), the usual placeholders,
 * and this repository's test secrets. A token signed with one of them can be forged by anyone
 * for any user, so production refuses them (compared trimmed and lower-cased).
 */
const PUBLISHED_SECRETS = new Set([
  'your-secret-key-change-in-production',
  'change-this-in-production',
  'change-me-in-production',
  'your-secret-key',
  'your_secret_key',
  'secret-key',
  'secret_key',
  'secret',
  'changeme',
  'change-me',
  'supersecret',
  'super-secret',
  'jwt-secret',
  'mysecret',
  'test-secret-key-that-is-long-enough-0123456789',
  'cluster-test-secret-key-that-is-long-enough-0123',
]);

const ROTATE =
  'Rotate it: set SECRET_KEY to a new random value (e.g. `openssl rand -base64 48`). Tokens ' +
  'signed with the old one stop working, so every user logs in again; to spread that out, put ' +
  'a non-published previous secret in SECRET_KEY_PREVIOUS for one token lifetime.';

/** Why a secret may not sign or verify tokens in production, if it may not. */
function weakSecret(name: string, secret: string | undefined): string | null {
  if (!secret) return `${name} must be set in production. ${ROTATE}`;
  if (PUBLISHED_SECRETS.has(secret.toLowerCase())) {
    return `${name} is a published value: anyone can sign tokens with it for any user. ${ROTATE}`;
  }
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    return `${name} must be at least ${MIN_SECRET_BYTES} random bytes in production. ${ROTATE}`;
  }
  return null;
}
const OWASP_PBKDF2_ROUNDS = 600_000;
const MiB = 1024 * 1024;

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8001),
  MONGO_URL: z.string().trim().min(1).optional(),
  DB_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and - only')
    .default('zerohour_chat'),
  EMBEDDED_DB_PORT: z.coerce.number().int().min(1).max(65535).default(27217),
  EMBEDDED_DB_DIR: z.string().min(1).default('data/ferretdb'),
  SECRET_KEY: z.string().optional(),
  SECRET_KEY_PREVIOUS: z.string().optional(),
  ACCESS_TOKEN_EXPIRE_MINUTES: z.coerce.number().int().positive().default(30),
  PASSWORD_HASH_ROUNDS: z.coerce.number().int().min(1000).default(OWASP_PBKDF2_ROUNDS),
  CORS_ORIGINS: z.string().default('*'),
  REDIS_URL: z.string().trim().min(1).optional(),
  PRESENCE_LEASE_SECONDS: z.coerce.number().positive().max(300).default(30),
  TRUST_PROXY: z.enum(['on', 'off']).default('off'),
  RATE_LIMIT_LOGIN_PER_USERNAME: z.coerce.number().int().positive().default(10),
  RATE_LIMIT_AUTH_PER_IP: z.coerce.number().int().positive().default(100),
  RATE_LIMIT_SENDS_PER_USER: z.coerce.number().int().positive().default(30),
  RATE_LIMIT_CONNECTIONS_PER_IP: z.coerce.number().int().positive().default(120),
  RATE_LIMIT_UPLOADS_PER_USER: z.coerce.number().int().positive().default(30),
  GRAPHQL_INTROSPECTION: z.enum(['on', 'off']).optional(),
  LEGACY_REALTIME_AUTH: z.enum(['on', 'off']).default('on'),
  SSE_KEEPALIVE_SECONDS: z.coerce.number().positive().max(30).default(15),
  WS_PING_SECONDS: z.coerce.number().positive().max(300).default(12),
  MAX_GROUP_MEMBERS: z.coerce.number().int().min(2).max(100_000).default(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(25 * MiB),
  UPLOAD_BYTES_PER_DAY: z.coerce
    .number()
    .int()
    .positive()
    .default(500 * MiB),
  DOWNLOAD_URL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(300),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  ATTACHMENT_STORE: z.enum(['gridfs', 's3']).default('gridfs'),
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().min(3).max(63).optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: z.enum(['on', 'off']).default('on'),
  METRICS_TOKEN: z
    .string()
    .trim()
    .regex(/^[\x21-\x7E]{16,256}$/, '16 to 256 printable ASCII characters, no spaces')
    .optional(),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** Unset: the server launches its embedded FerretDB. */
  mongoUrl: string | undefined;
  dbName: string;
  embeddedDb: { port: number; dataDir: string };
  secretKey: Uint8Array;
  /** During a rotation: tokens signed with this earlier secret are still accepted (never signed). */
  previousSecretKey: Uint8Array | null;
  /** True when SECRET_KEY was missing and a throwaway one was generated (development only). */
  secretKeyGenerated: boolean;
  accessTokenTtlSeconds: number;
  passwordHashRounds: number;
  /** `'*'` allows any origin (without credentials); otherwise the exact origins allowed. */
  corsOrigins: '*' | string[];
  /** Unset: one instance, in-process event bus. Set: events, presence and rate limits go through Redis. */
  redisUrl: string | undefined;
  /** How long an instance's claim that a user is connected lasts without renewal (Redis mode). */
  presenceLeaseSeconds: number;
  /** Take the client address from X-Forwarded-For (behind a load balancer). */
  trustProxy: boolean;
  /** Attempts allowed per window: the points of each rate limit and its window in seconds. */
  rateLimits: {
    /** Failed or not, login and recovery attempts on one username (brute force). */
    loginPerUsername: { points: number; seconds: number };
    /** Login, registration and recovery requests from one address. */
    authPerIp: { points: number; seconds: number };
    /** Messages one user sends, through any transport (flood). */
    sendsPerUser: { points: number; seconds: number };
    /** WebSocket and SSE connection attempts from one address. */
    connectionsPerIp: { points: number; seconds: number };
    /** Uploads one user starts (`createUpload`). */
    uploadsPerUser: { points: number; seconds: number };
  };
  /** Schema introspection (and so GraphiQL's docs); on by default outside production. */
  introspection: boolean;
  /** Off: the legacy /ws and /sse endpoints trust the user id in their path, as the old server did. */
  legacyRealtimeAuth: boolean;
  /** Seconds between keep-alive comments on the legacy SSE stream. */
  sseKeepAliveSeconds: number;
  /** Seconds between pings on graphql-ws sockets; one unanswered by the next ping is dropped. */
  wsPingSeconds: number;
  /** The most members a group may have, its owner included. */
  maxGroupMembers: number;
  logLevel: string;
  /** Attachments: limits, links and where the bytes are kept (src/attachments/). */
  attachments: AttachmentsConfig;
  /**
   * The bearer token `GET /metrics` requires (Prometheus exposition). Unset: no metrics are
   * collected and /metrics answers 404.
   */
  metricsToken: string | undefined;
}

export interface AttachmentsConfig {
  /** The largest upload, in bytes; refused while it streams in (413). */
  maxUploadBytes: number;
  /** Bytes one user may upload per UTC day (declared sizes of the uploads they start). */
  bytesPerDay: number;
  /** How long a download link works, in seconds. */
  downloadUrlSeconds: number;
  /**
   * The server's address as clients reach it, for the upload and download links it serves itself
   * (GridFS). Unset: the address it listens on.
   */
  publicUrl: string | undefined;
  /** GridFS in the chat database (default), or an S3-compatible store the clients reach directly. */
  store: { kind: 'gridfs' } | ({ kind: 's3' } & S3Config);
}

export interface S3Config {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  /** `bucket` in the path (`http://host/bucket/key`), as most S3-compatible servers want. */
  forcePathStyle: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function attachmentStore(vars: z.output<typeof envSchema>): AttachmentsConfig['store'] {
  if (vars.ATTACHMENT_STORE === 'gridfs') return { kind: 'gridfs' };
  if (!vars.S3_BUCKET) throw new ConfigError('S3_BUCKET must be set when ATTACHMENT_STORE=s3.');
  return {
    kind: 's3',
    endpoint: vars.S3_ENDPOINT,
    region: vars.S3_REGION,
    bucket: vars.S3_BUCKET,
    accessKeyId: vars.S3_ACCESS_KEY_ID,
    secretAccessKey: vars.S3_SECRET_ACCESS_KEY,
    forcePathStyle: vars.S3_FORCE_PATH_STYLE === 'on',
  };
}

/** Parses and validates the environment once, at start-up. Throws ConfigError with every problem listed. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const vars = parsed.data;
  const isDevelopment = vars.NODE_ENV !== 'production';

  const secret = vars.SECRET_KEY?.trim();
  const previous = vars.SECRET_KEY_PREVIOUS?.trim() || undefined;
  if (!isDevelopment) {
    const problem =
      weakSecret('SECRET_KEY', secret) ??
      (previous === undefined ? null : weakSecret('SECRET_KEY_PREVIOUS', previous));
    if (problem) throw new ConfigError(problem);
  }
  if (!isDevelopment && vars.PASSWORD_HASH_ROUNDS < OWASP_PBKDF2_ROUNDS) {
    throw new ConfigError(
      `PASSWORD_HASH_ROUNDS must be at least ${OWASP_PBKDF2_ROUNDS} in production.`,
    );
  }

  const origins = vars.CORS_ORIGINS.split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);

  return {
    env: vars.NODE_ENV,
    host: vars.HOST,
    port: vars.PORT,
    mongoUrl: vars.MONGO_URL,
    dbName: vars.DB_NAME,
    embeddedDb: { port: vars.EMBEDDED_DB_PORT, dataDir: vars.EMBEDDED_DB_DIR },
    secretKey: secret ? new TextEncoder().encode(secret) : randomBytes(MIN_SECRET_BYTES),
    previousSecretKey: previous ? new TextEncoder().encode(previous) : null,
    secretKeyGenerated: !secret,
    accessTokenTtlSeconds: vars.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
    passwordHashRounds: vars.PASSWORD_HASH_ROUNDS,
    corsOrigins: origins.length === 0 || origins.includes('*') ? '*' : origins,
    redisUrl: vars.REDIS_URL,
    presenceLeaseSeconds: vars.PRESENCE_LEASE_SECONDS,
    trustProxy: vars.TRUST_PROXY === 'on',
    rateLimits: {
      loginPerUsername: { points: vars.RATE_LIMIT_LOGIN_PER_USERNAME, seconds: 15 * 60 },
      authPerIp: { points: vars.RATE_LIMIT_AUTH_PER_IP, seconds: 15 * 60 },
      sendsPerUser: { points: vars.RATE_LIMIT_SENDS_PER_USER, seconds: 10 },
      connectionsPerIp: { points: vars.RATE_LIMIT_CONNECTIONS_PER_IP, seconds: 60 },
      uploadsPerUser: { points: vars.RATE_LIMIT_UPLOADS_PER_USER, seconds: 60 },
    },
    introspection: (vars.GRAPHQL_INTROSPECTION ?? (isDevelopment ? 'on' : 'off')) === 'on',
    legacyRealtimeAuth: vars.LEGACY_REALTIME_AUTH === 'on',
    sseKeepAliveSeconds: vars.SSE_KEEPALIVE_SECONDS,
    wsPingSeconds: vars.WS_PING_SECONDS,
    maxGroupMembers: vars.MAX_GROUP_MEMBERS,
    logLevel: vars.LOG_LEVEL,
    attachments: {
      maxUploadBytes: vars.MAX_UPLOAD_BYTES,
      bytesPerDay: vars.UPLOAD_BYTES_PER_DAY,
      downloadUrlSeconds: vars.DOWNLOAD_URL_SECONDS,
      publicUrl: vars.PUBLIC_URL?.replace(/\/+$/, ''),
      store: attachmentStore(vars),
    },
    metricsToken: vars.METRICS_TOKEN,
  };
}
