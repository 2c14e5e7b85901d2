/**
 * One execution of a `messageAdded` selection per event and audience, not per socket.
 *
 * A new message reaches every subscriber of its chat. For a given document and variables, what
 * each of them receives differs only in who is asking: `isOwn` and the sender's private fields
 * depend on whether the viewer sent the message, and `chat` (its other participant, its summary)
 * on the viewer themself. So subscribers are grouped by (document, variables, sender-or-not) —
 * or by viewer when the selection reaches `chat` — and each group's result is computed once and
 * shared by every socket in it.
 *
 * Over graphql-ws the result is also masked and serialized once, and written straight to each
 * socket (`sendNext`), instead of passing every socket's copy through graphql-ws's and envelop's
 * per-operation iterators; over SSE it goes the usual way.
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
import type { ErrorMasker, TransportContext } from '../yoga.js';
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

interface SharedResult {
  result: Result;
  /** The masked result as JSON, made on first request (graphql-ws sockets). */
  json?: Promise<string>;
}

/** Results computed for an event, by audience; forgotten with the event. */
const resultsByEvent = new WeakMap<MessageAddedPayload, Map<string, SharedResult>>();

function sharedResult(event: MessageAddedPayload, audience: string, run: () => Result) {
  let results = resultsByEvent.get(event);
  if (!results) {
    results = new Map();
    resultsByEvent.set(event, results);
  }
  let shared = results.get(audience);
  if (!shared) {
    shared = { result: run() };
    results.set(audience, shared);
  }
  return shared;
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

type SubscriptionArgs = ExecutionArgs & { contextValue: RequestScope & TransportContext };

/**
 * Hands each event's serialized result straight to `sendNext`, in order, and yields nothing
 * itself: the stream graphql-ws iterates only ends (with the source, or when returned). Per
 * socket a delivery is then a string concatenation and a write, as on the legacy transports.
 */
function sendDirectly<Event>(
  source: AsyncIterator<Event>,
  serialize: (event: Event) => Promise<string>,
  sendNext: (payloadJson: string) => void,
): AsyncIterableIterator<never> {
  const done = { value: undefined, done: true } as const;
  let ended = false;
  const pumped = (async () => {
    for (let next = await source.next(); !next.done; next = await source.next()) {
      const payload = await serialize(next.value);
      // Once the operation is complete, nothing more goes out under its id.
      if (ended) break;
      sendNext(payload);
    }
  })();
  // A failure reaches graphql-ws through next(); after return() nobody is waiting for it.
  pumped.catch(() => undefined);
  return {
    next: () => pumped.then(() => done),
    return: async () => {
      ended = true;
      await source.return?.();
      return done;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function createSubscribe(maskError: ErrorMasker) {
  const masked = async (result: Result): Promise<string> => {
    const { errors, ...rest } = await result;
    const payload = errors
      ? { ...rest, errors: errors.map((error) => maskError(error, 'Unexpected error.')) }
      : rest;
    return JSON.stringify(payload);
  };

  return async (args: SubscriptionArgs) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const events = source as AsyncIterable<MessageAddedPayload>;
    const viewerId = args.contextValue.viewer?.user_id;
    const selection = `${documentId(args.document)}:${args.operationName ?? ''}:${JSON.stringify(args.variableValues ?? {})}`;
    const perViewer = selectsChat(args);
    const shared = (event: MessageAddedPayload) => {
      const relation = perViewer
        ? `viewer:${viewerId}`
        : event.message.sender_id === viewerId
          ? 'sender'
          : 'recipient';
      return sharedResult(event, `${selection}:${relation}`, () =>
        execute({ ...args, rootValue: event }),
      );
    };
    const { sendNext } = args.contextValue;
    if (!sendNext) return mapAsyncIterator(events, (event) => shared(event).result);
    return sendDirectly(
      events[Symbol.asyncIterator](),
      (event) => {
        const entry = shared(event);
        return (entry.json ??= masked(entry.result));
      },
      sendNext,
    );
  };
}

export function shareMessageAddedResults(maskError: ErrorMasker): Plugin<RequestScope> {
  const subscribe = createSubscribe(maskError);
  return {
    onSubscribe({ args, setSubscribeFn }) {
      if (isMessageAdded(args)) setSubscribeFn(subscribe as never);
    },
  };
}
