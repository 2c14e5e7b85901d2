/** `npm run db:build`: makes sure the embedded FerretDB binary exists, building it if needed. */
import { EmbeddedDatabaseUnavailable, ensureFerretdbBinary } from './ferretdb.js';

try {
  const binary = await ensureFerretdbBinary((line) => console.log(line));
  console.log(`FerretDB ready: ${binary}`);
} catch (error) {
  if (!(error instanceof EmbeddedDatabaseUnavailable)) throw error;
  console.error(error.message);
  process.exit(1);
}
