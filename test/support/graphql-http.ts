/** GraphQL over HTTP: one POST, shared by the tests (one server, a cluster) and the bench's seeding. */

export interface GraphQLResponse<Data = Record<string, unknown>> {
  status: number;
  data?: Data | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

/** How long one request may take before it is aborted. */
const REQUEST_TIMEOUT_MS = 10_000;

/** POSTs a GraphQL operation to `url`, with `Authorization: Bearer token` when given. */
export async function postGraphQL<Data = Record<string, unknown>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<GraphQLResponse<Data>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, ...((await response.json()) as object) };
}
