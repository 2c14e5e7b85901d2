import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const STRONG = 'x'.repeat(48);

describe('configuration', () => {
  it('has working development defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 8001,
      dbName: 'zerohour_chat',
      mongoUrl: undefined,
      accessTokenTtlSeconds: 1800,
      corsOrigins: '*',
      secretKeyGenerated: true,
    });
    expect(config.secretKey.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses to start in production without a strong SECRET_KEY', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SECRET_KEY/);
    expect(() => loadConfig({ NODE_ENV: 'production', SECRET_KEY: 'short' })).toThrow(ConfigError);
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: STRONG }).secretKeyGenerated).toBe(
      false,
    );
  });

  it('refuses a published secret in production, however long, and says how to rotate', () => {
    // The old backend's config.py hard-codes this one: anyone can sign tokens with it.
    for (const published of [
      'your-secret-key-change-in-production',
      ' Change-This-In-Production ',
    ]) {
      expect(() => loadConfig({ NODE_ENV: 'production', SECRET_KEY: published })).toThrow(
        /SECRET_KEY is a published value[\s\S]*openssl rand[\s\S]*logs in again/,
      );
    }
    // Development keeps working with it (nothing to protect there).
    expect(loadConfig({ SECRET_KEY: 'your-secret-key-change-in-production' }).env).toBe(
      'development',
    );
  });

  it('accepts a strong SECRET_KEY_PREVIOUS during a rotation, never a published or short one', () => {
    const previous = 'y'.repeat(48);
    const config = loadConfig({
      NODE_ENV: 'production',
      SECRET_KEY: STRONG,
      SECRET_KEY_PREVIOUS: previous,
    });
    expect(Buffer.from(config.previousSecretKey!).toString()).toBe(previous);
    for (const weak of ['your-secret-key-change-in-production', 'short']) {
      expect(() =>
        loadConfig({ NODE_ENV: 'production', SECRET_KEY: STRONG, SECRET_KEY_PREVIOUS: weak }),
      ).toThrow(/SECRET_KEY_PREVIOUS/);
    }
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: STRONG }).previousSecretKey).toBe(null);
  });

  it('refuses a password hashing cost below OWASP guidance in production', () => {
    expect(() =>
      loadConfig({ NODE_ENV: 'production', SECRET_KEY: STRONG, PASSWORD_HASH_ROUNDS: '29000' }),
    ).toThrow(/PASSWORD_HASH_ROUNDS/);
  });

  it('lists every invalid variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', ACCESS_TOKEN_EXPIRE_MINUTES: '-5' })).toThrow(
      /PORT[\s\S]*ACCESS_TOKEN_EXPIRE_MINUTES/,
    );
  });

  it('parses CORS_ORIGINS as a comma-separated list', () => {
    expect(
      loadConfig({ CORS_ORIGINS: 'http://localhost:3000, https://chat.example.com' }).corsOrigins,
    ).toEqual(['http://localhost:3000', 'https://chat.example.com']);
  });

  it('configures attachments: GridFS by default, S3 only with a bucket', () => {
    expect(loadConfig({}).attachments).toEqual({
      maxUploadBytes: 25 * 1024 * 1024,
      bytesPerDay: 500 * 1024 * 1024,
      downloadUrlSeconds: 300,
      publicUrl: undefined,
      store: { kind: 'gridfs' },
    });
    expect(() => loadConfig({ ATTACHMENT_STORE: 's3' })).toThrow(/S3_BUCKET/);
    expect(() => loadConfig({ PUBLIC_URL: 'ftp://example.com' })).toThrow(/PUBLIC_URL/);
    const s3 = loadConfig({
      ATTACHMENT_STORE: 's3',
      S3_BUCKET: 'chat-files',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      PUBLIC_URL: 'https://chat.example.com/',
    }).attachments;
    expect(s3.publicUrl).toBe('https://chat.example.com');
    expect(s3.store).toEqual({
      kind: 's3',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      bucket: 'chat-files',
      accessKeyId: undefined,
      secretAccessKey: undefined,
      forcePathStyle: true,
    });
  });
});
