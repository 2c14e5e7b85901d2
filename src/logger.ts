import { pino, type DestinationStream, type Logger } from 'pino';

/** JSON lines to standard output, or to `destination` (tests capture the log this way). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      // Tokens travel in headers and query strings; never write them to the log. (Request lines
      // carry the route pattern, never the URL: src/observability/http.ts.)
      redact: [
        'req.headers.authorization',
        'req.query.token',
        'req.url',
        '*.password',
        '*.securityPhrase',
      ],
    },
    destination,
  );
}
