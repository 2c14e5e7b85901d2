/**
 * Access tokens: HS256 JWTs with `sub` = username, as the Python backend issued them, so its
 * tokens stay valid when the secret is the same. `tv` (token version) lets logout and account
 * recovery revoke every earlier token: a token whose version is behind the user's is refused.
 * Old tokens carry no `tv` and count as version 0.
 */
import { webcrypto } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import { unauthenticated } from '../errors.js';

/** The HMAC key, imported once per secret: given the raw secret, jose imports it on every call. */
const hmacKeys = new WeakMap<Uint8Array, Promise<webcrypto.CryptoKey>>();

function hmacKey(secret: Uint8Array): Promise<webcrypto.CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    hmacKeys.set(secret, key);
  }
  return key;
}

export interface TokenClaims {
  username: string;
  tokenVersion: number;
  expiresAt: number;
}

export async function issueAccessToken(
  secret: Uint8Array,
  ttlSeconds: number,
  username: string,
  tokenVersion: number,
): Promise<string> {
  return new SignJWT({ tv: tokenVersion })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(username)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(await hmacKey(secret));
}

/** The secrets tokens are verified with: the current one, and during a rotation the previous one. */
export interface VerificationKeys {
  current: Uint8Array;
  previous: Uint8Array | null;
}

/**
 * Throws UNAUTHENTICATED with the old server's texts: `Token expired` or `Invalid credentials`.
 * A token signed with the previous secret (during a rotation) is accepted like a current one.
 */
export async function verifyAccessToken(
  keys: VerificationKeys,
  token: string,
): Promise<TokenClaims> {
  try {
    const { payload } = await verifyWithEither(keys, token);
    const tokenVersion = payload.tv ?? 0;
    if (typeof payload.sub !== 'string' || !Number.isInteger(tokenVersion)) {
      throw unauthenticated('Invalid credentials');
    }
    return { username: payload.sub, tokenVersion: tokenVersion as number, expiresAt: payload.exp! };
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw unauthenticated('Token expired');
    throw unauthenticated('Invalid credentials');
  }
}

const VERIFY_OPTIONS = { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] };

async function verifyWithEither({ current, previous }: VerificationKeys, token: string) {
  try {
    return await jwtVerify(token, await hmacKey(current), VERIFY_OPTIONS);
  } catch (error) {
    if (!previous || !(error instanceof errors.JWSSignatureVerificationFailed)) throw error;
    return jwtVerify(token, await hmacKey(previous), VERIFY_OPTIONS);
  }
}

/** The token of an `Authorization: Bearer …` value, or null when there is none. */
export function bearerToken(authorization: string | null | undefined): string | null {
  const match = authorization?.match(/^\s*Bearer\s+(\S+)\s*$/i);
  return match?.[1] ?? null;
}
