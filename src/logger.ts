import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    // Tokens travel in headers and query strings; never write them to the log.
    redact: ['req.headers.authorization', 'req.query.token', '*.password', '*.securityPhrase'],
  });
}
