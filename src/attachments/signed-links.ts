/**
 * Links to the server's own attachment routes (the GridFS store), signed with a key derived from
 * SECRET_KEY: whoever holds one may do what it names until it expires, and nothing else.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export class LinkSigner {
  private readonly key: Buffer;

  constructor(secretKey: Uint8Array) {
    // A key of its own, so a link's signature is never valid as anything else.
    this.key = createHmac('sha256', secretKey).update('zerohour attachment links').digest();
  }

  /** The signature of `fields` (the link's action, its parameters and its expiry). */
  sign(fields: readonly string[]): string {
    return createHmac('sha256', this.key).update(fields.join('\n')).digest('base64url');
  }

  /** Whether `signature` signs `fields` and `expires` (seconds since the epoch) is not past. */
  verify(fields: readonly string[], expires: string, signature: string): 'ok' | 'bad' | 'expired' {
    const expected = Buffer.from(this.sign([...fields, expires]));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad';
    return Number(expires) * 1000 >= Date.now() ? 'ok' : 'expired';
  }
}

export const expirySeconds = (at: Date) => String(Math.floor(at.getTime() / 1000));
