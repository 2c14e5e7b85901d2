/**
 * One execution of a `messageAdded` selection per event and audience, not per socket.
 *
 * A new message reaches every subscriber of its chat. For a given document and variables, what
 * each of them receives differs only in who is asking: `isOwn` and the sender's private fields
 * depend on whether the viewer sent the message, and `chat` (its other participant, its summary)
 * on the viewer themself. So subscribers are grouped by (document, variables, sender-or-not) —
 * or by viewer when the selection reaches `chat` — and each group's result is computed once and
 * shared by every socket in it.
 */
import {
  createSourceEventStream,
  execute,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import type { RequestScope } from '../context.js';
import type { MessageAddedPayload } from './service.js';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Whether a document's answer depends on the viewer beyond "did they send it". */
const viewerBound = new WeakMap<DocumentNode, boolean>();

function selectsChat(args: ExecutionArgs): boolean {
  const known = viewerBound.get(args.document);
  if (known !== undefined) return known;
  let found = false;
  const typeInfo = new TypeInfo(args.schema);
  visit(
    args.document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (typeInfo.getParentType()?.name === 'Message' && node.name.value === 'chat')
          found = true;
      },
    }),
  );
  viewerBound.set(args.document, found);
  return found;
}

const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

function documentId(document: DocumentNode): number {
  let known = documentIds.get(document);
  if (known === undefined) {
    known = nextDocumentId++;
    documentIds.set(document, known);
  }
  return known;
}

/** Results computed for an event, by audience; forgotten with the event. */
const resultsByEvent = new WeakMap<MessageAddedPayload, Map<string, Result>>();

function sharedResult(event: MessageAddedPayload, audience: string, run: () => Result): Result {
  let results = resultsByEvent.get(event);
  if (!results) {
    results = new Map();
    resultsByEvent.set(event, results);
  }
  let result = results.get(audience);
  if (!result) {
    result = run();
    results.set(audience, result);
  }
  return result;
}

function isMessageAdded(args: ExecutionArgs): boolean {
  for (const definition of args.document.definitions) {
    if (definition.kind !== 'OperationDefinition' || definition.operation !== 'subscription') {
      continue;
    }
    if (args.operationName && definition.name?.value !== args.operationName) continue;
    const [first] = definition.selectionSet.selections;
    return first?.kind === 'Field' && first.name.value === 'messageAdded';
  }
  return false;
}

async function subscribeShared(args: ExecutionArgs & { contextValue: RequestScope }) {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source;
  const viewerId = args.contextValue.viewer?.user_id;
  const selection = `${documentId(args.document)}:${args.operationName ?? ''}:${JSON.stringify(args.variableValues ?? {})}`;
  const perViewer = selectsChat(args);
  return mapAsyncIterator(source as AsyncIterable<MessageAddedPayload>, (event) => {
    const relation = perViewer
      ? `viewer:${viewerId}`
      : event.message.sender_id === viewerId
        ? 'sender'
        : 'recipient';
    return sharedResult(event, `${selection}:${relation}`, () =>
      execute({ ...args, rootValue: event }),
    );
  });
}

export function shareMessageAddedResults(): Plugin<RequestScope> {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      if (isMessageAdded(args)) setSubscribeFn(subscribeShared as never);
    },
  };
}
