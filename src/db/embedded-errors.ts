/** The embedded database (PostgreSQL and FerretDB) could not be prepared or started. */
export class EmbeddedDatabaseUnavailable extends Error {
  override name = 'EmbeddedDatabaseUnavailable';
}
