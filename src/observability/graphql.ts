/**
 * GraphQL operations in the metrics, by type, name and outcome, on every transport (HTTP, SSE,
 * graphql-ws all run through Yoga's envelop). The hooks add nothing to a subscription's stream:
 * its outcome is whether it started.
 */
import { getOperationAST, type DocumentNode } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Telemetry } from './telemetry.js';

const hasErrors = (result: unknown) =>
  !isAsyncIterable(result) && ((result as { errors?: unknown[] }).errors?.length ?? 0) > 0;

export function operationMetrics<Context extends object>(telemetry: Telemetry): Plugin<Context>[] {
  if (!telemetry.metrics) return [];
  const operation = (document: DocumentNode, name?: string | null) =>
    getOperationAST(document, name ?? undefined);
  return [
    {
      onParse:
        () =>
        ({ result }) => {
          if (result instanceof Error) telemetry.graphqlOperation('unknown', undefined, 'invalid');
        },
      onValidate:
        ({ params }) =>
        ({ result }) => {
          if (result.length === 0) return;
          const refused = operation(params.documentAST);
          telemetry.graphqlOperation(
            refused?.operation ?? 'unknown',
            refused?.name?.value,
            'invalid',
          );
        },
      onExecute: ({ args }) => {
        const executed = operation(args.document, args.operationName);
        return {
          onExecuteDone: ({ result }) =>
            telemetry.graphqlOperation(
              executed?.operation ?? 'unknown',
              executed?.name?.value,
              hasErrors(result) ? 'error' : 'ok',
            ),
        };
      },
      onSubscribe: ({ args }) => {
        const name = operation(args.document, args.operationName)?.name?.value;
        return {
          onSubscribeResult: ({ result }) => {
            telemetry.graphqlOperation('subscription', name, hasErrors(result) ? 'error' : 'ok');
          },
        };
      },
    },
  ];
}
