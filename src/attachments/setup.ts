/** The attachment store the configuration names, and the hourly clean-up of unattached uploads. */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from '../db/mongo.js';
import { GridFsStore } from './gridfs-store.js';
import { S3Store } from './s3-store.js';
import { LinkSigner } from './signed-links.js';
import type { AttachmentStore } from './store.js';

export interface Attachments {
  store: AttachmentStore;
  /** The GridFS store, whose bytes this server receives and serves (./routes.ts); else null. */
  gridfs: GridFsStore | null;
  signer: LinkSigner;
  /** Tells the links where the server listens (unless PUBLIC_URL says where clients reach it). */
  listening(url: string): void;
}

export function createAttachments(config: Config, db: Database): Attachments {
  const signer = new LinkSigner(config.secretKey);
  let baseUrl = config.attachments.publicUrl;
  const { store: chosen } = config.attachments;
  const gridfs =
    chosen.kind === 'gridfs'
      ? new GridFsStore(db.db, signer, () => {
          if (!baseUrl) throw new Error('attachment links asked for before the server listens');
          return baseUrl;
        })
      : null;
  return {
    store: gridfs ?? new S3Store(chosen as Extract<typeof chosen, { kind: 's3' }>),
    gridfs,
    signer,
    listening(url) {
      baseUrl ??= url;
    },
  };
}

/** How often each instance sweeps (every instance may: see sweepOrphans). */
const SWEEP_INTERVAL_MS = 5 * 60 * 1000;

/** Sweeps unattached uploads now and then until the returned function is called. */
export function sweepPeriodically(sweep: () => Promise<number>, logger: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .then((removed) => {
        if (removed > 0) logger.info({ removed }, 'deleted unattached uploads');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'sweeping unattached uploads failed'))
      .finally(() => {
        running = false;
      });
  }, SWEEP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
