/** `npm start`: configuration from the environment, then the service until SIGINT/SIGTERM. */
import { ConfigError, loadConfig } from './config.js';
import { EmbeddedDatabaseUnavailable } from './db/ferretdb.js';
import { createLogger } from './logger.js';
import { startService } from './start.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  if (config.secretKeyGenerated) {
    logger.warn('SECRET_KEY is not set: using a random key; tokens will not survive a restart');
  }

  let service;
  try {
    service = await startService(config, logger);
  } catch (error) {
    if (error instanceof EmbeddedDatabaseUnavailable) {
      logger.fatal(`cannot start the embedded database: ${error.message}`);
      logger.fatal(
        'set MONGO_URL to a MongoDB server (e.g. mongodb://localhost:27017) and try again',
      );
      process.exit(1);
    }
    throw error;
  }
  logger.info(`GraphQL (and GraphiQL) at http://localhost:${service.port}/graphql`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: shutting down`);
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    service
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

await main();
