/**
 * Password and security-phrase hashing in passlib's `pbkdf2_sha256` format, so that databases
 * written by the Python backend keep working:
 *   $pbkdf2-sha256$<rounds>$<salt>$<checksum>
 * PBKDF2-HMAC-SHA256 over the UTF-8 secret, 16-byte salt, 32-byte checksum, both in passlib's
 * "adapted base64" (standard alphabet with `.` for `+`, no padding).
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import pLimit from 'p-limit';

const PREFIX = '$pbkdf2-sha256$';
const SALT_BYTES = 16;
const CHECKSUM_BYTES = 32;
const pbkdf2Async = promisify(pbkdf2);
/**
 * Hashing runs on libuv's thread pool (4 threads by default), shared with file and DNS work.
 * Two at a time keeps a login flood from starving the rest; the others wait their turn.
 */
const hashingSlots = pLimit(2);
const derive = (secret: string, salt: Buffer, rounds: number) =>
  hashingSlots(() => pbkdf2Async(secret, salt, rounds, CHECKSUM_BYTES, 'sha256'));

const toAdaptedBase64 = (bytes: Buffer) =>
  bytes.toString('base64').replace(/=+$/, '').replace(/\+/g, '.');
const fromAdaptedBase64 = (text: string) => Buffer.from(text.replace(/\./g, '+'), 'base64');

interface ParsedHash {
  rounds: number;
  salt: Buffer;
  checksum: Buffer;
}

function parseHash(hash: string): ParsedHash | null {
  if (!hash.startsWith(PREFIX)) return null;
  const [roundsText, saltText, checksumText] = hash.slice(PREFIX.length).split('$');
  if (!roundsText || !/^[1-9][0-9]{0,8}$/.test(roundsText) || !saltText || !checksumText) {
    return null;
  }
  const checksum = fromAdaptedBase64(checksumText);
  if (checksum.length !== CHECKSUM_BYTES) return null;
  return { rounds: Number(roundsText), salt: fromAdaptedBase64(saltText), checksum };
}

export function isPasslibHash(value: string): boolean {
  return parseHash(value) !== null;
}

export async function hashSecret(secret: string, rounds: number): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const checksum = await derive(secret, salt, rounds);
  return `${PREFIX}${rounds}$${toAdaptedBase64(salt)}$${toAdaptedBase64(checksum)}`;
}

export interface Verification {
  valid: boolean;
  /** The hash is valid but weaker than `rounds`: store a fresh one. */
  needsRehash: boolean;
}

export async function verifySecret(
  secret: string,
  hash: string,
  rounds: number,
): Promise<Verification> {
  const parsed = parseHash(hash);
  if (!parsed) return { valid: false, needsRehash: false };
  const candidate = await derive(secret, parsed.salt, parsed.rounds);
  const valid = timingSafeEqual(candidate, parsed.checksum);
  return { valid, needsRehash: valid && parsed.rounds < rounds };
}
