/** Registration, login, logout and account recovery: the rules both GraphQL and REST use. */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { App } from '../app.js';
import type { UserDoc } from '../db/documents.js';
import { isDuplicateKeyError } from '../db/mongo.js';
import { AppError, unauthenticated } from '../errors.js';
import { requireViewer, type RequestScope } from '../request/scope.js';
import { insertUser, findUserByUsername, replaceHash, revokeTokens } from '../users/repository.js';
import { atMost, MAX_LENGTH, name, parseInput, userText } from '../validation.js';
import { hashSecret, isPasslibHash, verifySecret } from './password.js';
import { issueAccessToken } from './tokens.js';

export interface AuthResult {
  accessToken: string;
  user: UserDoc;
}

const password = z
  .string()
  .min(1, 'must not be empty')
  .max(...atMost('password'));
const username = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(...atMost('username'))
  .regex(/^[A-Za-z0-9_.-]+$/, 'may contain letters, digits, _ . and - only');
const securityPhrase = userText('securityPhrase').refine(
  (text) => text.trim().length > 0,
  'must not be empty',
);

const registerInput = z.object({
  firstName: name,
  lastName: name,
  mobileNo: z
    .string()
    .trim()
    .max(MAX_LENGTH.mobileNo, 'is too long')
    .regex(/^\+?[0-9][0-9 ()-]{2,}$/, 'must be a phone number'),
  email: z
    .string()
    .trim()
    .max(MAX_LENGTH.email, 'is too long')
    .pipe(z.email('must be a valid email address')),
  username,
  password,
  securityPhrase,
});
export type RegisterInput = z.input<typeof registerInput>;

const givenUsername = z.string().max(MAX_LENGTH.givenUsername);
const credentials = z.object({
  username: givenUsername,
  password: z.string().max(MAX_LENGTH.password),
});
const recoveryInput = z.object({
  username: givenUsername,
  securityPhrase: z.string().max(MAX_LENGTH.securityPhrase),
  newPassword: password,
});

/** Security phrases are answers to a question: compared without regard to case or spacing. */
const normalisePhrase = (phrase: string) => phrase.trim().toLowerCase().replace(/\s+/g, ' ');

async function issueFor(app: App, user: UserDoc): Promise<AuthResult> {
  const accessToken = await issueAccessToken(
    app.config.secretKey,
    app.config.accessTokenTtlSeconds,
    user.username,
    user.token_version ?? 0,
  );
  return { accessToken, user };
}

export async function register(scope: RequestScope, input: RegisterInput): Promise<AuthResult> {
  await scope.app.rateLimits.consume('authPerIp', scope.clientIp);
  const fields = parseInput(registerInput, input);
  const rounds = scope.app.config.passwordHashRounds;
  const [passwordHash, phraseHash] = await Promise.all([
    hashSecret(fields.password, rounds),
    hashSecret(normalisePhrase(fields.securityPhrase), rounds),
  ]);
  const user: UserDoc = {
    user_id: randomUUID(),
    first_name: fields.firstName,
    last_name: fields.lastName,
    mobile_no: fields.mobileNo,
    email: fields.email,
    username: fields.username,
    password_hash: passwordHash,
    security_phrase: phraseHash,
    created_at: new Date(),
    is_online: false,
  };
  try {
    await insertUser(scope.app.db, user);
  } catch (error) {
    // The unique indexes decide, so two racing registrations yield one user.
    if (isDuplicateKeyError(error)) {
      throw new AppError('CONFLICT', 'Username or email already registered');
    }
    throw error;
  }
  await scope.app.presence.loggedIn(user.user_id);
  return issueFor(scope.app, { ...user, is_online: true });
}

export async function login(scope: RequestScope, input: { username: string; password: string }) {
  const fields = parseInput(credentials, input);
  const { app } = scope;
  await app.rateLimits.consume('authPerIp', scope.clientIp);
  await app.rateLimits.consume('loginPerUsername', fields.username);
  const user = await findUserByUsername(app.db, fields.username);
  const rounds = app.config.passwordHashRounds;
  // Without a user, still spend the time of one hash so that timing does not reveal usernames.
  const check = await verifySecret(
    fields.password,
    user?.password_hash ?? (await dummyHash(rounds)),
    rounds,
  );
  if (!user || !check.valid) throw unauthenticated('Incorrect username or password');
  if (check.needsRehash) {
    const fresh = await hashSecret(fields.password, rounds);
    await replaceHash(app.db, user.user_id, 'password_hash', user.password_hash, fresh);
  }
  await app.presence.loggedIn(user.user_id);
  return issueFor(app, { ...user, is_online: true });
}

export async function logout(scope: RequestScope): Promise<void> {
  const viewer = requireViewer(scope);
  await revokeTokens(scope.app.db, viewer.user_id);
  await scope.app.presence.revoked(viewer.user_id);
}

export async function recoverAccount(
  scope: RequestScope,
  input: { username: string; securityPhrase: string; newPassword: string },
): Promise<AuthResult> {
  const fields = parseInput(recoveryInput, input);
  const { app } = scope;
  await app.rateLimits.consume('authPerIp', scope.clientIp);
  await app.rateLimits.consume('loginPerUsername', fields.username);
  const rounds = app.config.passwordHashRounds;
  const user = await findUserByUsername(app.db, fields.username);
  const phrase = normalisePhrase(fields.securityPhrase);
  const stored = user?.security_phrase ?? (await dummyHash(rounds));
  // Old databases hold the phrase in plain text; those are compared as given and upgraded below.
  const valid = isPasslibHash(stored)
    ? (await verifySecret(phrase, stored, rounds)).valid
    : constantTimeEquals(phrase, normalisePhrase(stored));
  if (!user || !valid) throw unauthenticated('Incorrect username or security phrase');

  const [passwordHash, phraseHash] = await Promise.all([
    hashSecret(fields.newPassword, rounds),
    isPasslibHash(stored) ? Promise.resolve(stored) : hashSecret(phrase, rounds),
  ]);
  const updated = await revokeTokens(app.db, user.user_id, {
    password_hash: passwordHash,
    security_phrase: phraseHash,
  });
  if (!updated) throw unauthenticated('Incorrect username or security phrase');
  await app.presence.revoked(user.user_id);
  await app.presence.loggedIn(user.user_id);
  return issueFor(app, { ...updated, is_online: true });
}

function constantTimeEquals(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A valid hash of a random secret at the current cost, verified in place of a missing user's. */
const dummyHashes = new Map<number, Promise<string>>();
function dummyHash(rounds: number): Promise<string> {
  let hash = dummyHashes.get(rounds);
  if (!hash) {
    hash = hashSecret(randomUUID(), rounds);
    dummyHashes.set(rounds, hash);
  }
  return hash;
}
