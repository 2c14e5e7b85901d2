/**
 * A throwaway S3-compatible server for the attachment tests: s3proxy 2.6.0 on Java, storing in a
 * temporary folder (`jclouds.provider=filesystem`), on a free port, with one bucket. Installed by
 * scripts/install-s3proxy.sh (which .ci/run calls). The JVM takes a couple of seconds to start:
 * start one per test file.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const VERSION = '2.6.0';
const START_TIMEOUT_MS = 60_000;

export interface RunningS3 {
  /** The server's environment for ATTACHMENT_STORE=s3. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

function jarPath() {
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cache, 'zerohour', 's3proxy', `s3proxy-${VERSION}-jar-with-dependencies.jar`);
}

export async function startS3(): Promise<RunningS3> {
  const jar = jarPath();
  if (!existsSync(jar)) {
    throw new Error(`s3proxy is not installed at ${jar}: run scripts/install-s3proxy.sh`);
  }
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'zerohour-s3-'));
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'zerohour-test', secretAccessKey: 'zerohour-test-secret' };
  await writeFile(
    join(dir, 's3proxy.conf'),
    [
      `s3proxy.endpoint=${endpoint}`,
      's3proxy.authorization=aws-v2-or-v4',
      `s3proxy.identity=${credentials.accessKeyId}`,
      `s3proxy.credential=${credentials.secretAccessKey}`,
      'jclouds.provider=filesystem',
      `jclouds.filesystem.basedir=${join(dir, 'data')}`,
    ].join('\n'),
  );
  const child = spawn(
    'java',
    ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-jar', jar, '--properties', join(dir, 's3proxy.conf')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const bucket = 'zerohour-attachments';
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`s3proxy exited: ${output}`);
        return client.send(new CreateBucketCommand({ Bucket: bucket })).then(
          () => true,
          () => false,
        );
      },
      's3proxy to start',
      START_TIMEOUT_MS,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  return {
    env: {
      ATTACHMENT_STORE: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    async stop() {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
