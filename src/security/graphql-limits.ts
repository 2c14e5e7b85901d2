/**
 * Limits on what one GraphQL document may ask for, applied at validation on every transport
 * (HTTP, SSE and graphql-ws all validate through Yoga's envelop), and CSRF prevention.
 */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { GraphQLArmorCallbackConfiguration } from '@escape.tech/graphql-armor-types';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Config } from '../config.js';

const withCode = (error: GraphQLError, code: string, status = 400) =>
  new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { http: { status }, ...error.extensions, code },
  });

/** Armor throws its rejections by default; reported instead, they join the other validation errors. */
const reportAsValidationError: GraphQLArmorCallbackConfiguration = {
  propagateOnRejection: false,
  onReject: [(context, error) => context?.reportError(error)],
};

/**
 * A POST that a browser sends cross-site without a preflight (form or text body) must carry the
 * `x-graphql-yoga-csrf` header. GET stays open: it runs queries only (mutations over GET are
 * refused), which the GraphQL-over-HTTP spec requires and which change nothing.
 */
function csrfPrevention(): Plugin {
  const { onRequestParse } = useCSRFPrevention();
  return {
    onRequestParse: (payload) => {
      if (payload.request.method === 'GET') return;
      try {
        return onRequestParse?.(payload);
      } catch (error) {
        throw error instanceof GraphQLError ? withCode(error, 'FORBIDDEN', 403) : error;
      }
    },
  };
}

/** Errors Yoga raises for the request itself (bad variables, methods, bodies) get a code too. */
const codeRequestErrors: Plugin = {
  onResultProcess: ({ result, setResult }) => {
    if (Array.isArray(result) || !('errors' in result) || !result.errors) return;
    if (result.errors.every((error) => error.extensions?.code)) return;
    setResult({
      ...result,
      errors: result.errors.map((error) =>
        error.extensions?.code ? error : withCode(error as GraphQLError, 'BAD_REQUEST'),
      ),
    });
  },
};

export function graphqlLimits(config: Config): Plugin[] {
  const production = config.env === 'production';
  return [
    csrfPrevention(),
    codeRequestErrors,
    EnvelopArmorPlugin({
      maxDepth: { n: 10, ignoreIntrospection: true, ...reportAsValidationError },
      // Armor multiplies a field's cost by its literal `first`/`last`: a chat list with a preview
      // of each chat's members (`chats(first: 50) { members(first: 20) … }`) costs ~90,000. Page
      // sizes are capped by the server (100), so this bounds depth × breadth, not page sizes.
      costLimit: { maxCost: 100_000, ignoreIntrospection: true, ...reportAsValidationError },
      maxAliases: { n: 15, ...reportAsValidationError },
      maxDirectives: { n: 20, ...reportAsValidationError },
      maxTokens: { n: 2000 },
      // "Did you mean …?" hints map the schema for an attacker.
      blockFieldSuggestion: { enabled: production },
    }) as Plugin,
    {
      // The depth and token limits act while parsing; their errors get a code too.
      onParse:
        () =>
        ({ result, replaceParseResult }) => {
          if (result instanceof GraphQLError && !result.extensions.code) {
            replaceParseResult(withCode(result, 'GRAPHQL_PARSE_FAILED'));
          }
        },
      onValidate: ({ addValidationRule }) => {
        if (!config.introspection) addValidationRule(NoSchemaIntrospectionCustomRule);
        // Every error a client sees carries a code, validation errors included.
        return ({ result, setResult }) => {
          if (result.every((error) => error.extensions?.code)) return;
          setResult(
            result.map((error) =>
              error.extensions?.code ? error : withCode(error, 'GRAPHQL_VALIDATION_FAILED'),
            ),
          );
        };
      },
    },
  ];
}
