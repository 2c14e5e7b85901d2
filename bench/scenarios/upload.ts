/**
 * Scenario 12: attachment uploads into the default store (GridFS), whose bytes pass through the
 * server. Uploads are started (`createUpload`) beforehand; what is measured is the PUT. One `mib`
 * MiB file at a time (throughput and server CPU per upload), then `parallel` at once while the server's RSS is sampled every 20 ms: its peak
 * growth over the RSS before (after a GC) shows whether uploads are streamed (flat) or held
 * whole (about `parallel` × the file).
 */
import type { Bench } from '../context.js';
import { row } from '../report.js';
import { ApiClient, createChat, registerUsers } from '../seed.js';
import { percentiles, sleep } from '../util.js';

const DB = 'bench_upload';
const MiB = 1024 * 1024;
/**
 * Peak RSS growth allowed during the parallel uploads (full run: 20 × 10 MiB would hold 200 MiB
 * whole). Allocation alone grows RSS by some tens of MiB (the young generation is 32 MiB: see
 * package.json serverNodeFlags), whatever the file size.
 */
const FLAT_MIB = 64;

const CREATE_UPLOAD = /* GraphQL */ `
  mutation CreateUpload($chatId: ID!, $fileName: String!, $contentType: String!, $size: Int!) {
    createUpload(chatId: $chatId, fileName: $fileName, contentType: $contentType, size: $size) {
      id
      uploadUrl
    }
  }
`;

export async function uploadScenario(bench: Bench): Promise<void> {
  const { plan, progress } = bench;
  const { mib, rounds, parallel } = plan.upload;
  progress.step('12 upload: seeding');
  const server = await bench.startServer(DB);
  try {
    const api = new ApiClient(server.baseUrl);
    const [owner, other] = await registerUsers(api, 2, 'uploader');
    const chatId = await createChat(api, owner!, other!);
    const file = Buffer.alloc(mib * MiB, 7);
    const body = new Uint8Array(file);

    const start = async () => {
      const { createUpload } = await api.gql<{ createUpload: { uploadUrl: string } }>(
        CREATE_UPLOAD,
        {
          chatId,
          fileName: 'bench.bin',
          contentType: 'application/octet-stream',
          size: file.length,
        },
        owner!.token,
      );
      return createUpload.uploadUrl;
    };
    /** PUTs the file to an upload's link; how long it took, in ms. */
    const put = async (uploadUrl: string) => {
      const started = performance.now();
      const response = await fetch(uploadUrl, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body,
      });
      if (response.status !== 204) {
        throw new Error(`PUT: ${response.status} ${await response.text()}`);
      }
      return performance.now() - started;
    };

    progress.step(`12 upload: ${rounds} × ${mib} MiB, one at a time`);
    await put(await start()); // warm-up: GridFS collections and indexes created
    const serialUrls: string[] = [];
    for (let round = 0; round < rounds; round += 1) serialUrls.push(await start());
    const serial = await bench.measure(server, async () => {
      const times: number[] = [];
      for (const url of serialUrls) times.push(await put(url));
      return times;
    });
    const latency = percentiles(serial.result);
    bench.rows.push(
      row({
        scenario: `12 upload · ${mib} MiB file, PUT into GridFS`,
        unit: 'upload',
        ops: rounds,
        opsPerSec: (rounds * 1000) / serial.wallMs,
        latency,
        cpuMsPer1k: (serial.cpuMs / rounds) * 1000,
        rssMb: serial.stats.rss / MiB,
        dbCommandsPerOp: serial.commands / rounds,
        measured: `${(mib / (latency.p50 / 1000)).toFixed(1)} MiB/s (p50 PUT)`,
        notes: ['FerretDB on SQLite stores the chunks: its speed, not ours, bounds this'],
      }),
    );

    progress.step(`12 upload: ${parallel} × ${mib} MiB at once, sampling the server's RSS`);
    const parallelUrls: string[] = [];
    for (let index = 0; index < parallel; index += 1) parallelUrls.push(await start());
    const before = await server.worker.call('gc', null);
    let peak = before.rss;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await server.worker.call('stats', null)).rss);
        await sleep(20);
      }
    })();
    const started = performance.now();
    const times = await Promise.all(parallelUrls.map(put)).finally(() => {
      sampling = false;
    });
    const wallMs = performance.now() - started;
    await sampler;
    const growthMib = (peak - before.rss) / MiB;
    const heldWhole = parallel * mib;
    bench.rows.push(
      row({
        scenario: `12 upload · ${parallel} parallel ${mib} MiB uploads`,
        unit: 'upload',
        ops: parallel,
        opsPerSec: (parallel * 1000) / wallMs,
        latency: percentiles(times),
        rssMb: peak / MiB,
        // Quick runs upload too little to tell streaming from holding.
        target: plan.quick ? null : `RSS growth < ${FLAT_MIB} MiB (held whole: ${heldWhole} MiB)`,
        measured: `RSS +${growthMib.toFixed(1)} MiB at peak; ${((parallel * mib * 1000) / wallMs).toFixed(1)} MiB/s in all`,
        met: plan.quick ? null : growthMib < FLAT_MIB,
      }),
    );
  } finally {
    await server.stop();
  }
}
