import { describe, expect, it } from 'vitest';
import { hashSecret, isPasslibHash, verifySecret } from '../src/auth/password.js';
import { LEGACY_29000_HASH, LEGACY_PASSWORD } from './support/legacy.js';

// From passlib's documentation of pbkdf2_sha256.
const PASSLIB_DOC_VECTOR =
  '$pbkdf2-sha256$6400$0ZrzXitFSGltTQnBWOsdAw$Y11AchqV4b0sUisdZd0Xr97KWoymNE0LNNrnEgY4H9M';

describe('passlib pbkdf2_sha256 compatibility', () => {
  it('verifies passlib hashes and rejects other passwords', async () => {
    expect(await verifySecret('password', PASSLIB_DOC_VECTOR, 6400)).toEqual({
      valid: true,
      needsRehash: false,
    });
    expect((await verifySecret('Password', PASSLIB_DOC_VECTOR, 6400)).valid).toBe(false);
    expect(await verifySecret(LEGACY_PASSWORD, LEGACY_29000_HASH, 600_000)).toEqual({
      valid: true,
      needsRehash: true,
    });
  });

  it('writes hashes in the same format that verify', async () => {
    const hash = await hashSecret('correct horse', 1000);
    expect(hash).toMatch(/^\$pbkdf2-sha256\$1000\$[A-Za-z0-9./]{22}\$[A-Za-z0-9./]{43}$/);
    expect(isPasslibHash(hash)).toBe(true);
    expect((await verifySecret('correct horse', hash, 1000)).valid).toBe(true);
    expect((await verifySecret('correct horse!', hash, 1000)).valid).toBe(false);
  });

  it('treats malformed hashes as non-matching', async () => {
    for (const bad of [
      'plain text',
      '$pbkdf2-sha256$x$abc$def',
      '$pbkdf2-sha256$1000$abc$short',
      '',
    ]) {
      expect(isPasslibHash(bad)).toBe(false);
      expect((await verifySecret('anything', bad, 1000)).valid).toBe(false);
    }
  });
});
