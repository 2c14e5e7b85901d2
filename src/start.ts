/** Starts the whole service: database (external or embedded), app, HTTP/WebSocket server. */
import type { MongoClientOptions } from 'mongodb';
import type { Logger } from 'pino';
import { createApp, type App } from './app.js';
import type { Config } from './config.js';
import { startFerretdb, type RunningFerretdb } from './db/ferretdb.js';
import { connectDatabase, type Database } from './db/mongo.js';
import { createServer } from './server.js';
import { sweepOrphans } from './attachments/service.js';
import { sweepPeriodically } from './attachments/setup.js';

export interface RunningService {
  app: App;
  port: number;
  /** Stops accepting, closes sockets, Redis and the database connection, stops an embedded database. */
  stop(): Promise<void>;
}

export async function startService(
  config: Config,
  logger: Logger,
  clientOptions: MongoClientOptions = {},
): Promise<RunningService> {
  if (!config.legacyRealtimeAuth) {
    logger.warn(
      'LEGACY_REALTIME_AUTH=off: /ws/{user_id}, /sse/{user_id} and /api/send/{user_id} trust the ' +
        'user id in the path; anyone can read and send as any user',
    );
  }
  let embedded: RunningFerretdb | undefined;
  let mongoUrl = config.mongoUrl;
  if (!mongoUrl) {
    logger.info('MONGO_URL is not set: starting the embedded FerretDB');
    embedded = await startFerretdb({
      port: config.embeddedDb.port,
      dataDir: config.embeddedDb.dataDir,
      progress: (line) => logger.info(line),
    });
    mongoUrl = embedded.url;
  }
  let db: Database | undefined;
  let app: App | undefined;
  let stopSweeps: (() => void) | undefined;
  const release = async () => {
    stopSweeps?.();
    await app?.close();
    await db?.client.close();
    await embedded?.stop();
  };
  try {
    // Command durations for the metrics (the driver then decodes every reply twice: see README).
    const monitorCommands = config.metricsToken !== undefined;
    db = await connectDatabase(mongoUrl, config.dbName, { monitorCommands, ...clientOptions });
    app = await createApp(config, db, logger);
    const running = app;
    stopSweeps = sweepPeriodically(() => sweepOrphans(running), logger);
    const server = createServer(app);
    const port = await server.listen();
    return {
      app,
      port,
      async stop() {
        await server.close();
        await release();
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}
