/**
 * One execution of a chat-feed subscription's selection (`messageAdded`, `chatEvents`) per event
 * and audience, not per socket.
 *
 * An event reaches every subscriber of its chat. For a given document and variables, what each
 * of them receives differs only in who is asking, and the fields that depend on it say how
 * (./viewer-dependence.ts): not at all, only in whether the viewer is the event's actor (a
 * message's `isOwn`, its sender's private fields), or per viewer (a message's `chat`). So
 * subscribers are grouped by (document, variables, and that much of the viewer), and each
 * group's result is computed once and shared by every socket in it.
 *
 * Over graphql-ws the result is also masked and serialized once, and written straight to each
 * socket (`sendNext`), instead of passing every socket's copy through graphql-ws's and envelop's
 * per-operation iterators; over SSE it goes the usual way, serialized once per audience too.
 */
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLError,
  type DocumentNode,
} from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import type { RequestScope } from '../request/scope.js';
import { actorOf, type ChatFeedEvent } from '../events/bus.js';
import { isTopicSubscription, type TopicSink } from '../events/outlet.js';
import type { TransportContext } from './context.js';
import type { ErrorMasker } from './errors.js';
import { audienceOf } from './viewer-dependence.js';

const EXTENSION = 'deliveredPerAudience';

/**
 * A subscription field whose events are shared objects of chat timelines (with an actor),
 * delivered per audience.
 */
export function deliveredPerAudience<Subscribe, Resolve>(field: {
  subscribe: Subscribe;
  resolve: Resolve;
}) {
  return { ...field, extensions: { [EXTENSION]: true } };
}

type Result = ExecutionResult | Promise<ExecutionResult>;

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

/** An event's masked result as JSON, with the event (graphql-ws sockets). */
interface Outgoing {
  json: string;
  event: ChatFeedEvent;
}

interface SharedResult {
  result: Result;
  /** The masked result as JSON, made on first request (graphql-ws sockets). */
  json?: Promise<Outgoing>;
  /** The result as Yoga's SSE streams get it, serialized once between them. */
  streamed?: Result;
}

/**
 * Yoga serializes each event for each SSE (or multipart) stream, with the result's own
 * `stringify` when it has one: given one that remembers its JSON, the streams of an audience
 * share one serialization. A result Yoga has to change (masking errors) is a copy without it.
 */
function serializedOnce(result: ExecutionResult): ExecutionResult {
  let json: string | undefined;
  Object.defineProperty(result, 'stringify', {
    value: (value: unknown) =>
      value === result ? (json ??= JSON.stringify(value)) : JSON.stringify(value),
  });
  return result;
}

/** Results computed for an event, by audience; forgotten with the event. */
const resultsByEvent = new WeakMap<ChatFeedEvent, Map<string, SharedResult>>();

function sharedResult(event: ChatFeedEvent, audience: string, run: () => Result) {
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

/** The operation's root field, if its subscription is delivered per audience. */
function isDeliveredPerAudience(args: ExecutionArgs): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  const [first] = operation?.operation === 'subscription' ? operation.selectionSet.selections : [];
  if (first?.kind !== 'Field') return false;
  const field = args.schema.getSubscriptionType()?.getFields()[first.name.value];
  return field?.extensions[EXTENSION] === true;
}

type SubscriptionArgs = ExecutionArgs & { contextValue: RequestScope & TransportContext };
type ResultMasker = (result: Result) => Promise<ExecutionResult>;

/**
 * One subscriber's selection: which shared result of an event is theirs. Its audience keys are
 * made once, so that a delivery to each socket does not build one.
 */
class Selection {
  private readonly viewerId: string | undefined;
  /**
   * The audience when the viewer is the event's actor, and when someone else is (the same key
   * when the selection does not depend on it; one key per viewer when it depends on the viewer).
   */
  private readonly actorKey: string;
  private readonly othersKey: string;

  constructor(private readonly args: SubscriptionArgs) {
    const selection = [
      documentId(args.document),
      args.operationName ?? '',
      args.variableValues ?? {},
    ];
    this.viewerId = args.contextValue.viewer?.user_id;
    const operation = getOperationAST(args.document, args.operationName);
    const audience = operation ? audienceOf(args.schema, args.document, operation) : 'viewer';
    if (audience === 'viewer') {
      this.actorKey = this.othersKey = JSON.stringify([...selection, 'viewer', this.viewerId]);
    } else if (audience === 'actor') {
      this.actorKey = JSON.stringify([...selection, 'actor']);
      this.othersKey = JSON.stringify([...selection, 'others']);
    } else {
      this.actorKey = this.othersKey = JSON.stringify(selection);
    }
  }

  resultFor(event: ChatFeedEvent): SharedResult {
    const audience = actorOf(event) === this.viewerId ? this.actorKey : this.othersKey;
    return sharedResult(event, audience, () => execute({ ...this.args, rootValue: event }));
  }
}

const DONE = { value: undefined, done: true } as const;
/** Results a socket may have waiting behind the one being serialized before its stream ends. */
const MAX_BACKLOG = 1024;

/**
 * A graphql-ws operation's stream on the direct path. Events are pushed to it as they come (see
 * TopicSink), and it hands each one's result, masked and serialized once per audience, straight
 * to `sendNext`, in order. It yields nothing itself: the stream graphql-ws iterates only ends
 * (with the source, or when returned). Per socket a delivery is then a string concatenation and a
 * write, as on the legacy transports, and an idle operation holds no pending promise of its own.
 */
class DirectDelivery implements AsyncIterableIterator<never>, TopicSink<ChatFeedEvent> {
  /** Nothing more goes out. */
  private ended = false;
  private sourceEnded = false;
  private failure: unknown = null;
  /** Results waiting, in order, behind the one being serialized; null when none is. */
  private backlog: Promise<Outgoing>[] | null = null;
  private outcome: Promise<IteratorResult<never>> | null = null;
  private resolve: ((result: IteratorResult<never>) => void) | null = null;
  private reject: ((error: unknown) => void) | null = null;

  constructor(
    private readonly source: AsyncIterator<ChatFeedEvent>,
    private readonly selection: Selection,
    private readonly sendNext: (payloadJson: string, event: ChatFeedEvent) => void,
    private readonly maskResult: ResultMasker,
    private readonly maskError: (error: unknown) => Error,
  ) {
    if (isTopicSubscription(source)) source.pipeTo(this);
    else void this.pump();
  }

  /** A source that can only be read (a resumed stream): read into push(). */
  private async pump(): Promise<void> {
    try {
      for (let next = await this.source.next(); !next.done; next = await this.source.next()) {
        this.push(next.value);
      }
      this.end();
    } catch (error) {
      this.failed(error);
    }
  }

  push(event: ChatFeedEvent): void {
    if (this.ended) return;
    const entry = this.selection.resultFor(event);
    const json = (entry.json ??= this.maskResult(entry.result).then((result) => ({
      json: JSON.stringify(result),
      event,
    })));
    if (!this.backlog) {
      this.backlog = [];
      json.then(this.sent, this.failed);
    } else if (this.backlog.length < MAX_BACKLOG) {
      this.backlog.push(json);
    } else {
      // Fallen this far behind: the stream ends (a client resumes with `after`).
      this.finish();
    }
  }

  end(error?: unknown): void {
    if (error !== undefined) return this.failed(error);
    this.sourceEnded = true;
    if (!this.backlog) this.finish();
  }

  private readonly sent = (payload: Outgoing) => {
    if (this.ended) return;
    this.sendNext(payload.json, payload.event);
    const next = this.backlog?.shift();
    if (next) return void next.then(this.sent, this.failed);
    this.backlog = null;
    if (this.sourceEnded) this.finish();
  };

  private readonly failed = (error: unknown) => {
    if (this.ended) return;
    this.failure = this.maskError(error);
    this.finish();
  };

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.backlog = null;
    if (!this.sourceEnded) void this.source.return?.();
    if (this.failure) this.reject?.(this.failure);
    else this.resolve?.(DONE);
  }

  /** Settles when the stream ends; rejects (masked) if the source failed. */
  next(): Promise<IteratorResult<never>> {
    this.outcome ??= new Promise<IteratorResult<never>>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (this.ended) {
        if (this.failure) reject(this.failure);
        else resolve(DONE);
      }
    });
    return this.outcome;
  }

  async return(): Promise<IteratorResult<never>> {
    this.failure = null;
    this.finish();
    return DONE;
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

function createSubscribe(maskError: ErrorMasker) {
  const maskResult: ResultMasker = async (result) => {
    const { errors, ...rest } = await result;
    return errors
      ? {
          ...rest,
          // Yoga's masking, like ours, makes GraphQLErrors (graphql-ws serializes them).
          errors: errors.map((error) => maskError(error, 'Unexpected error.') as GraphQLError),
        }
      : rest;
  };
  const maskStreamError = (error: unknown) => maskError(error, 'Unexpected error.');

  return async (args: SubscriptionArgs) => {
    const { sendNext } = args.contextValue;
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return sendNext ? maskResult(source) : source;
    const events = source as AsyncIterable<ChatFeedEvent>;
    const selection = new Selection(args);
    if (!sendNext) {
      const { telemetry } = args.contextValue.app;
      return mapAsyncIterator(events, (event) => {
        // Handed to the SSE (or multipart) stream, which writes it at once.
        telemetry.delivered('graphql-sse', event);
        const entry = selection.resultFor(event);
        return (entry.streamed ??= Promise.resolve(entry.result).then(serializedOnce));
      });
    }
    return new DirectDelivery(
      events[Symbol.asyncIterator](),
      selection,
      sendNext,
      maskResult,
      maskStreamError,
    );
  };
}

/**
 * Runs the subscriptions marked `deliveredPerAudience`. Over graphql-ws it answers them itself,
 * masked, so that the subscribe hooks after it (Yoga's error masking among them) do not wrap
 * every socket's stream in iterators of their own: it must be the last plugin that hooks
 * subscriptions.
 */
export function shareFeedResults(maskError: ErrorMasker): Plugin<RequestScope> {
  const subscribe = createSubscribe(maskError);
  return {
    onSubscribe({ args, setSubscribeFn, setResultAndStopExecution }) {
      if (!isDeliveredPerAudience(args)) return;
      const subscriptionArgs = args as SubscriptionArgs;
      if (subscriptionArgs.contextValue.sendNext) {
        setResultAndStopExecution(subscribe(subscriptionArgs) as never);
      } else {
        setSubscribeFn(subscribe as never);
      }
    },
  };
}
