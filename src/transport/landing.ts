/**
 * What `/` shows a person in a browser: where to go. The old clients ask `/` for JSON (and keep
 * getting it); a browser asks for HTML first.
 */

/** Whether a request's Accept header asks for a page rather than data (a browser navigating). */
export const wantsPage = (accept: string | undefined) => /\btext\/html\b/.test(accept ?? '');

export const LANDING_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>ZeroHour Chat API</title>
    <style>
      body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5; }
      a { font-weight: 600; }
    </style>
  </head>
  <body>
    <h1>ZeroHour Chat API is running</h1>
    <ul>
      <li><a href="/graphql">GraphQL</a>: GraphiQL in the browser, opening on a worked example
        (register, chats, send, subscribe).</li>
      <li><a href="/docs">REST API</a>: the Python backend's endpoints, kept for its clients
        (Swagger UI; <a href="/openapi.json">OpenAPI</a>).</li>
    </ul>
  </body>
</html>
`;
