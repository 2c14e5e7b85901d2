/**
 * The server as Apollo Client 4 sees it, in Node: InMemoryCache with relayStylePagination on
 * `Query.chats` and `Chat.messages`, an HttpLink (token in the Authorization header) split with a
 * GraphQLWsLink over graphql-ws (token in the `connection_init` payload). What matters here is
 * what a real app relies on: ids that normalise, cursors that page without gaps, subscriptions
 * that deliver, a chat list kept current by `myChats` and the cache, interface events
 * (`chatEvents`) read through `possibleTypes`, errors that carry `extensions.code`, and a bad token
 * that fails instead of hanging.
 */
import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  gql,
  HttpLink,
  InMemoryCache,
  type ErrorLike,
  type NormalizedCacheObject,
  type ObservableQuery,
  type OperationVariables,
  type PossibleTypesMap,
  type SubscribeToMoreUpdateQueryFn,
  type TypedDocumentNode,
} from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition, relayStylePagination } from '@apollo/client/utilities';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { cleanupAfterEach, DEFAULT_WAIT_MS, sleep, waitFor } from './support/wait.js';
import { startTestServer, type TestServer } from './support/server.js';
import { registrationInput, sendMessage, type TestUser } from './support/users.js';

const TIMEOUT = DEFAULT_WAIT_MS;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const cleanups = cleanupAfterEach();

// ---------------------------------------------------------------------------------------------
// Operations, typed as an app would type them

interface UserFields {
  __typename?: 'User';
  id: string;
  username: string;
}
interface AuthData {
  accessToken: string;
  tokenType: string;
  user: UserFields & { firstName: string; lastName: string };
}

const REGISTER: TypedDocumentNode<
  { register: AuthData },
  { input: ReturnType<typeof registrationInput> }
> = gql`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      accessToken
      tokenType
      user {
        id
        username
        firstName
        lastName
      }
    }
  }
`;

const LOGIN: TypedDocumentNode<{ login: AuthData }, { username: string; password: string }> = gql`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      accessToken
      tokenType
      user {
        id
        username
        firstName
        lastName
      }
    }
  }
`;

const ME: TypedDocumentNode<{ me: UserFields }, Record<string, never>> = gql`
  query Me {
    me {
      id
      username
    }
  }
`;

const CREATE_CHAT: TypedDocumentNode<
  { createChat: { id: string; otherUser: UserFields | null } },
  { otherUserId: string }
> = gql`
  mutation CreateChat($otherUserId: ID!) {
    createChat(otherUserId: $otherUserId) {
      id
      otherUser {
        id
        username
      }
    }
  }
`;

interface MessageFields {
  id: string;
  content: string;
  sender: UserFields;
}

const SEND_MESSAGE: TypedDocumentNode<
  { sendMessage: MessageFields & { isOwn: boolean } },
  { chatId: string; content: string; clientMessageId?: string }
> = gql`
  mutation SendMessage($chatId: ID!, $content: String!, $clientMessageId: String) {
    sendMessage(chatId: $chatId, content: $content, clientMessageId: $clientMessageId) {
      id
      content
      isOwn
      sender {
        id
        username
      }
    }
  }
`;

const MESSAGE_ADDED: TypedDocumentNode<
  { messageAdded: MessageFields & { clientMessageId: string | null; chat: { id: string } } },
  { chatId: string }
> = gql`
  subscription MessageAdded($chatId: ID!) {
    messageAdded(chatId: $chatId) {
      id
      content
      clientMessageId
      sender {
        id
        username
      }
      chat {
        id
      }
    }
  }
`;

interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}
interface Connection<Node> {
  edges: { cursor: string; node: Node }[];
  pageInfo: PageInfo;
}

const CHATS: TypedDocumentNode<
  { chats: Connection<{ id: string; lastMessagePreview: string | null; otherUser: UserFields }> },
  { first?: number; after?: string | null }
> = gql`
  query Chats($first: Int, $after: String) {
    chats(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          lastMessagePreview
          otherUser {
            id
            username
          }
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
    }
  }
`;

const CHAT_MESSAGES: TypedDocumentNode<
  {
    chat: {
      id: string;
      messages: Connection<MessageFields & { createdAt: string }>;
    } | null;
  },
  { id: string; first?: number; after?: string | null }
> = gql`
  query ChatMessages($id: ID!, $first: Int, $after: String) {
    chat(id: $id) {
      id
      messages(first: $first, after: $after) {
        edges {
          cursor
          node {
            id
            content
            createdAt
            sender {
              id
              username
            }
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
      }
    }
  }
`;

// ---------------------------------------------------------------------------------------------
// An Apollo Client configured as the web app configures it

interface AppClient {
  apollo: ApolloClient;
  ws: Client;
  /** Close events of the graphql-ws socket. */
  closeCodes: number[];
  /** Names of the operations sent over HTTP, in order (what a refetch would show up in). */
  httpOperations: string[];
}

function apolloClient(
  token?: string,
  wsConnectionParams?: Record<string, unknown>,
  possibleTypes?: PossibleTypesMap,
): AppClient {
  const closeCodes: number[] = [];
  const httpOperations: string[] = [];
  const ws = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams:
      wsConnectionParams ?? (token ? { authorization: `Bearer ${token}` } : undefined),
    lazy: true,
    retryAttempts: 0,
    on: {
      closed: (event) => {
        closeCodes.push((event as { code: number }).code);
      },
    },
  });
  const httpLink = new HttpLink({
    uri: server.graphqlUrl,
    fetch: (input: RequestInfo | URL, init?: RequestInit) => {
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : {};
      httpOperations.push((body as { operationName?: string }).operationName ?? '(unnamed)');
      return fetch(input, init);
    },
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    httpLink,
  );
  const apollo = new ApolloClient({
    link,
    cache: new InMemoryCache({
      possibleTypes,
      typePolicies: {
        Query: { fields: { chats: relayStylePagination() } },
        Chat: { fields: { messages: relayStylePagination() } },
      },
    }),
  });
  cleanups.push(async () => {
    apollo.stop();
    await ws.dispose();
  });
  return { apollo, ws, closeCodes, httpOperations };
}

type AppUser = TestUser;

/** Registers through Apollo, as the sign-up screen does. */
async function register(): Promise<AppUser> {
  const { apollo } = apolloClient();
  const input = registrationInput();
  const { data } = await apollo.mutate({ mutation: REGISTER, variables: { input } });
  if (!data) throw new Error('register returned no data');
  return {
    id: data.register.user.id,
    username: input.username,
    password: input.password,
    token: data.register.accessToken,
    securityPhrase: input.securityPhrase,
    email: input.email,
  };
}

async function openChat(a: AppUser, b: AppUser): Promise<string> {
  const { apollo } = apolloClient(a.token);
  const { data } = await apollo.mutate({
    mutation: CREATE_CHAT,
    variables: { otherUserId: b.id },
  });
  if (!data) throw new Error('createChat returned no data');
  return data.createChat.id;
}

interface Subscribed<Data> {
  data: Data[];
  errors: ErrorLike[];
  completed: boolean;
}

/** `client.subscribe`, collecting what arrives; unsubscribed after the test. */
function subscribe<Data, Variables extends OperationVariables>(
  apollo: ApolloClient,
  query: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Subscribed<Data> {
  const collected: Subscribed<Data> = { data: [], errors: [], completed: false };
  const subscription = apollo.subscribe({ query, variables }).subscribe({
    next: (result) => {
      if (result.data) collected.data.push(result.data as Data);
      if (result.error) collected.errors.push(result.error);
    },
    error: (error: ErrorLike) => collected.errors.push(error),
    complete: () => {
      collected.completed = true;
    },
  });
  cleanups.push(() => subscription.unsubscribe());
  return collected;
}

/**
 * A subscription has no "started" signal: send probe messages (over plain HTTP, as the other
 * participant) until one arrives, so that everything sent afterwards must arrive too.
 */
async function untilLive(
  sender: AppUser,
  chatId: string,
  receivedIds: () => string[],
): Promise<Set<string>> {
  const probes = new Set<string>();
  const live = () => receivedIds().some((id) => probes.has(id));
  const deadline = Date.now() + TIMEOUT;
  while (!live()) {
    if (Date.now() > deadline) throw new Error('the subscription did not go live');
    probes.add(await sendMessage(server, sender, chatId, `probe ${probes.size}`));
    await waitFor(live, 'a probe', 200).catch(() => undefined);
  }
  await sleep(100);
  return probes;
}

/**
 * Calls `fetchMore` with the merged list's `endCursor` until `hasNextPage` is false, as an
 * infinite list does; returns the number of pages. Every page's own `pageInfo` must point at its
 * first and last edge.
 */
async function pageToEnd<Data, Variables extends OperationVariables, Node>(
  observable: ObservableQuery<Data, Variables>,
  connectionOf: (data: Data) => Connection<Node>,
): Promise<number> {
  const merged = () => {
    const data = shown(observable);
    return data ? connectionOf(data) : undefined;
  };
  await waitFor(merged, 'the first page');
  let pages = 1;
  for (;;) {
    const current = merged()!;
    if (!current.pageInfo.hasNextPage) return pages;
    expect(pages, 'paging terminates').toBeLessThan(10);
    const more = await observable.fetchMore({
      variables: { after: current.pageInfo.endCursor } as unknown as Partial<Variables>,
    });
    expect(more.error).toBeUndefined();
    const page = connectionOf(more.data as Data);
    expect(page.edges.length).toBeGreaterThan(0);
    expect(page.pageInfo.startCursor).toBe(page.edges[0]!.cursor);
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)!.cursor);
    // The ObservableQuery re-emits the merged list just after fetchMore resolves.
    const expectedLength = current.edges.length + page.edges.length;
    await waitFor(
      () => merged()!.edges.length === expectedLength,
      `the merged list to grow to ${expectedLength}`,
    );
    pages += 1;
  }
}

/** The normalised store, as `cache.extract()` returns it: `Type:id` keys and `ROOT_QUERY`. */
const snapshot = (apollo: ApolloClient) => apollo.cache.extract() as NormalizedCacheObject;
const entry = (cache: NormalizedCacheObject, key: string) =>
  cache[key] as Record<string, unknown> | undefined;
/** What an ObservableQuery currently shows (complete data once loaded). */
const shown = <Data, Variables extends OperationVariables>(
  observable: ObservableQuery<Data, Variables>,
) => observable.getCurrentResult().data as Data | undefined;

// ---------------------------------------------------------------------------------------------

describe('Apollo Client: authentication', () => {
  it('registers and logs in through mutations, then the token works over HTTP', async () => {
    const anonymous = apolloClient();
    const input = registrationInput();
    const registered = await anonymous.apollo.mutate({ mutation: REGISTER, variables: { input } });
    expect(registered.error).toBeUndefined();
    expect(registered.data?.register).toMatchObject({
      tokenType: 'bearer',
      user: { __typename: 'User', username: input.username, firstName: input.firstName },
    });
    expect(registered.data?.register.accessToken).toEqual(expect.any(String));

    const loggedIn = await anonymous.apollo.mutate({
      mutation: LOGIN,
      variables: { username: input.username, password: input.password },
    });
    expect(loggedIn.error).toBeUndefined();
    const userId = registered.data!.register.user.id;
    expect(loggedIn.data?.login.user.id).toBe(userId);
    expect(loggedIn.data?.login.user.username).toBe(input.username);

    // Both mutations returned the same user: one normalised entry.
    expect(entry(snapshot(anonymous.apollo), `User:${userId}`)).toMatchObject({
      id: userId,
      username: input.username,
    });

    const signedIn = apolloClient(loggedIn.data!.login.accessToken);
    const { data, error } = await signedIn.apollo.query({ query: ME });
    expect(error).toBeUndefined();
    expect(data?.me).toEqual({ __typename: 'User', id: userId, username: input.username });
    expect(entry(snapshot(signedIn.apollo), 'ROOT_QUERY')).toMatchObject({
      me: { __ref: `User:${userId}` },
    });
  });

  it('surfaces UNAUTHENTICATED with extensions.code to Apollo (HTTP)', async () => {
    const { apollo } = apolloClient();

    const withErrors = await apollo.query({
      query: ME,
      errorPolicy: 'all',
      fetchPolicy: 'no-cache',
    });
    expect(CombinedGraphQLErrors.is(withErrors.error)).toBe(true);
    const combined = withErrors.error as CombinedGraphQLErrors;
    expect(combined.errors[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // The default error policy rejects with the same GraphQL error, not a network error.
    const rejected = await apollo.query({ query: ME, fetchPolicy: 'no-cache' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(CombinedGraphQLErrors.is(rejected)).toBe(true);
    expect((rejected as CombinedGraphQLErrors).errors[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    // A forged token is UNAUTHENTICATED too.
    const forged = apolloClient('not-a-real-token');
    const forgedResult = await forged.apollo.query({ query: ME, errorPolicy: 'all' });
    expect(CombinedGraphQLErrors.is(forgedResult.error)).toBe(true);
    expect((forgedResult.error as CombinedGraphQLErrors).errors[0]?.extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('surfaces UNAUTHENTICATED to a subscription over a socket without a token', async () => {
    const a = await register();
    const b = await register();
    const chatId = await openChat(a, b);
    const anonymous = apolloClient();
    const sub = subscribe(anonymous.apollo, MESSAGE_ADDED, { chatId });
    await waitFor(() => sub.errors.length > 0, 'the subscription to be refused');
    const [error] = sub.errors;
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors.map((e) => e.extensions?.code)).toContain(
      'UNAUTHENTICATED',
    );
    expect(sub.data).toEqual([]);
  });

  it('fails (socket closed 4403) instead of hanging when connectionParams carry a bad token', async () => {
    const a = await register();
    const b = await register();
    const chatId = await openChat(a, b);
    const bad = apolloClient(undefined, { authorization: 'Bearer not-a-real-token' });
    const sub = subscribe(bad.apollo, MESSAGE_ADDED, { chatId });
    await waitFor(() => sub.errors.length > 0, 'the WS link to fail');
    expect(sub.errors[0]?.message).toMatch(/4403/);
    await waitFor(() => bad.closeCodes.length > 0, 'the socket to close');
    expect(bad.closeCodes).toEqual([4403]);
    expect(sub.data).toEqual([]);
  });
});

describe('Apollo Client: cache normalisation and subscriptions', () => {
  it('keeps one Message entry for the same id from sendMessage, messageAdded and chat.messages', async () => {
    const a = await register();
    const b = await register();
    const chatId = await openChat(a, b);
    const { apollo } = apolloClient(a.token);

    const sub = subscribe(apollo, MESSAGE_ADDED, { chatId });
    const probes = await untilLive(b, chatId, () => sub.data.map((d) => d.messageAdded.id));

    const sent = await apollo.mutate({
      mutation: SEND_MESSAGE,
      variables: { chatId, content: 'normalise me', clientMessageId: 'apollo-1' },
    });
    expect(sent.error).toBeUndefined();
    const id = sent.data!.sendMessage.id;
    expect(sent.data!.sendMessage).toMatchObject({ content: 'normalise me', isOwn: true });

    const added = await waitFor(
      () => sub.data.map((d) => d.messageAdded).find((m) => m.id === id),
      'messageAdded with the id sendMessage returned',
    );
    expect(added).toMatchObject({
      id,
      content: 'normalise me',
      clientMessageId: 'apollo-1',
      sender: { id: a.id, username: a.username },
      chat: { id: chatId },
    });

    const listed = await apollo.query({
      query: CHAT_MESSAGES,
      variables: { id: chatId, first: 50 },
    });
    expect(listed.error).toBeUndefined();
    const listedIds = listed.data!.chat!.messages.edges.map((edge) => edge.node.id);
    expect(listedIds).toEqual([...probes, id]);

    const cache = snapshot(apollo);
    // One entry holds what each of the three operations selected: isOwn (sendMessage),
    // clientMessageId and chat (messageAdded), createdAt (chat.messages).
    expect(entry(cache, `Message:${id}`)).toMatchObject({
      __typename: 'Message',
      id,
      content: 'normalise me',
      isOwn: true,
      clientMessageId: 'apollo-1',
      chat: { __ref: `Chat:${chatId}` },
      sender: { __ref: `User:${a.id}` },
      createdAt: expect.any(String),
    });
    const messageKeys = Object.keys(cache).filter((key) => key.startsWith('Message:'));
    expect(messageKeys.sort()).toEqual([...probes, id].map((m) => `Message:${m}`).sort());
    expect(entry(cache, `User:${a.id}`)).toMatchObject({ id: a.id, username: a.username });
    expect(entry(cache, `User:${b.id}`)).toMatchObject({ id: b.id, username: b.username });
    const chat = entry(cache, `Chat:${chatId}`);
    expect(chat).toMatchObject({ __typename: 'Chat', id: chatId });
    const messagesField = Object.entries(chat!).find(([key]) => key.startsWith('messages'));
    expect(messagesField, 'Chat.messages is stored on the Chat entry').toBeDefined();
    const refs = (messagesField![1] as { edges: { node: { __ref: string } }[] }).edges.map(
      (edge) => edge.node.__ref,
    );
    expect(refs).toEqual([...probes, id].map((m) => `Message:${m}`));
  });

  it('delivers messageAdded to client.subscribe, in order, for messages from either side', async () => {
    const a = await register();
    const b = await register();
    const chatId = await openChat(a, b);
    const clientA = apolloClient(a.token);
    const clientB = apolloClient(b.token);

    const sub = subscribe(clientB.apollo, MESSAGE_ADDED, { chatId });
    const probes = await untilLive(a, chatId, () => sub.data.map((d) => d.messageAdded.id));

    const sent: string[] = [];
    for (const [client, content] of [
      [clientA, 'one from A'],
      [clientB, 'two from B'],
      [clientA, 'three from A'],
    ] as const) {
      const { data } = await client.apollo.mutate({
        mutation: SEND_MESSAGE,
        variables: { chatId, content },
      });
      sent.push(data!.sendMessage.id);
    }
    const underTest = () => sub.data.map((d) => d.messageAdded).filter((m) => !probes.has(m.id));
    await waitFor(() => underTest().length >= sent.length, `${sent.length} messages`);
    await sleep(300);
    expect(underTest().map((m) => [m.id, m.content, m.sender.id])).toEqual([
      [sent[0], 'one from A', a.id],
      [sent[1], 'two from B', b.id],
      [sent[2], 'three from A', a.id],
    ]);
    expect(sub.errors).toEqual([]);
    expect(sub.completed).toBe(false);
    // The subscription wrote into B's cache like any other result.
    expect(entry(snapshot(clientB.apollo), `Message:${sent[2]}`)).toMatchObject({
      content: 'three from A',
    });
  });
});

describe('Apollo Client: relayStylePagination with fetchMore', () => {
  it('pages through chat.messages until hasNextPage is false, with no gaps or duplicates', async () => {
    const a = await register();
    const b = await register();
    const chatId = await openChat(a, b);
    const sentIds: string[] = [];
    for (let i = 0; i < 11; i += 1) {
      sentIds.push(await sendMessage(server, i % 2 ? b : a, chatId, `message ${i}`));
    }

    const { apollo } = apolloClient(a.token);
    const observable = apollo.watchQuery({
      query: CHAT_MESSAGES,
      variables: { id: chatId, first: 4 },
    });
    const subscription = observable.subscribe({ next: () => undefined });
    cleanups.push(() => subscription.unsubscribe());
    const pages = await pageToEnd(observable, (data) => data.chat!.messages);

    const merged = shown(observable)!.chat!.messages;
    expect(pages).toBe(3);
    expect(merged.edges.map((edge) => edge.node.id)).toEqual(sentIds);
    expect(merged.edges.map((edge) => edge.node.content)).toEqual(
      sentIds.map((_, i) => `message ${i}`),
    );
    expect(new Set(merged.edges.map((edge) => edge.cursor)).size).toBe(sentIds.length);
    expect(merged.pageInfo).toMatchObject({
      hasNextPage: false,
      startCursor: merged.edges[0]!.cursor,
      endCursor: merged.edges.at(-1)!.cursor,
    });
  });

  it('pages through chats until hasNextPage is false, even when a chat becomes active mid-way', async () => {
    const me = await register();
    const others: AppUser[] = [];
    const chatIds: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const other = await register();
      others.push(other);
      const chatId = await openChat(me, other);
      chatIds.push(chatId);
      await sendMessage(server, other, chatId, `hello ${i}`);
    }
    // Newest activity first.
    const expectedOrder = [...chatIds].reverse();

    const { apollo } = apolloClient(me.token);
    const observable = apollo.watchQuery({ query: CHATS, variables: { first: 2 } });
    const subscription = observable.subscribe({ next: () => undefined });
    cleanups.push(() => subscription.unsubscribe());
    await waitFor(() => shown(observable)?.chats, 'the first page');
    const firstPage = shown(observable)!.chats;
    expect(firstPage.edges.map((edge) => edge.node.id)).toEqual(expectedOrder.slice(0, 2));
    expect(firstPage.pageInfo).toMatchObject({ hasNextPage: true });

    // The oldest chat (on the last page) gets a message before the next page is fetched.
    await sendMessage(server, others[0]!, chatIds[0]!, 'bump');

    const pages = await pageToEnd(observable, (data) => data.chats);
    expect(pages).toBe(3);

    const merged = shown(observable)!.chats;
    const ids = merged.edges.map((edge) => edge.node.id);
    expect(new Set(ids).size, `no chat repeated: ${ids.join(', ')}`).toBe(ids.length);
    expect([...ids].sort(), 'no chat skipped').toEqual([...chatIds].sort());
    expect(merged.edges.map((edge) => edge.node.otherUser.id).sort()).toEqual(
      others.map((o) => o.id).sort(),
    );
    expect(merged.pageInfo.hasNextPage).toBe(false);
    for (const chatId of chatIds) {
      expect(entry(snapshot(apollo), `Chat:${chatId}`)).toMatchObject({ id: chatId });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A chat list kept current by `myChats`, as an app writes it: one fragment for a list item, a
// watched `chats` query, and `subscribeToMore` whose `updateQuery` only orders the list (the
// fields of a chat it already shows reach the list through normalisation: `Chat:<id>`).

interface ChatListItem {
  __typename?: 'Chat';
  id: string;
  lastMessagePreview: string | null;
  lastMessageAt: string | null;
  otherUser: UserFields | null;
}

const CHAT_LIST_ITEM: TypedDocumentNode<ChatListItem> = gql`
  fragment ChatListItem on Chat {
    id
    lastMessagePreview
    lastMessageAt
    otherUser {
      id
      username
    }
  }
`;

interface ChatListData {
  chats: { edges: { __typename?: 'ChatEdge'; cursor: string; node: ChatListItem }[] };
}
type ChatListVariables = { first: number };

const CHAT_LIST: TypedDocumentNode<ChatListData, ChatListVariables> = gql`
  query ChatList($first: Int) {
    chats(first: $first) {
      edges {
        cursor
        node {
          ...ChatListItem
        }
      }
    }
  }
  ${CHAT_LIST_ITEM}
`;

type ChatListChange = 'ADDED' | 'UPDATED' | 'REMOVED';
interface MyChatsData {
  myChats: { change: ChatListChange; chat: ChatListItem };
}

const MY_CHATS: TypedDocumentNode<MyChatsData, Record<string, never>> = gql`
  subscription MyChats {
    myChats {
      change
      chat {
        ...ChatListItem
      }
    }
  }
  ${CHAT_LIST_ITEM}
`;

interface ChatEventData {
  chatEvents: {
    __typename: string;
    cursor: string;
    chatId: string;
    seq: number | null;
    /** Selected on MessageAdded only. */
    message?: { id: string; content: string; sender: UserFields };
  };
}

const CHAT_EVENTS: TypedDocumentNode<ChatEventData, { chatId: string; after?: string }> = gql`
  subscription ChatEvents($chatId: ID!, $after: String) {
    chatEvents(chatId: $chatId, after: $after) {
      cursor
      chatId
      seq
      ... on MessageAdded {
        message {
          id
          content
          sender {
            id
            username
          }
        }
      }
    }
  }
`;

/**
 * The app's `updateQuery`: a chat it does not show yet goes on top (ADDED, or UPDATED for a chat
 * beyond the loaded page), a chat with a new message moves to the top as the list shows it (its
 * new preview is already there: the subscription result was written to `Chat:<id>`), a removed
 * chat is dropped. A chat that arrived live has no server cursor; paging on uses the last edge's.
 */
const applyChatListChange: SubscribeToMoreUpdateQueryFn<
  ChatListData,
  ChatListVariables,
  MyChatsData
> = (_unsafePrevious, { complete, previousData, subscriptionData }) => {
  if (!complete) return undefined;
  const { change, chat } = subscriptionData.data.myChats;
  const edges = previousData.chats.edges;
  const shownEdge = edges.find((edge) => edge.node.id === chat.id);
  const others = edges.filter((edge) => edge !== shownEdge);
  const withEdges = (next: ChatListData['chats']['edges']): ChatListData => ({
    ...previousData,
    chats: { ...previousData.chats, edges: next },
  });
  switch (change) {
    case 'REMOVED':
      return shownEdge ? withEdges(others) : undefined;
    case 'ADDED':
    case 'UPDATED':
      if (shownEdge && change === 'ADDED') return undefined;
      return withEdges([
        shownEdge ?? { __typename: 'ChatEdge', cursor: '', node: chat },
        ...others,
      ]);
  }
};

interface WatchedChatList {
  client: AppClient;
  /** The complete results the watched query emitted, oldest first. */
  emitted: ChatListData[];
  /** The `myChats` events handed to `updateQuery`, oldest first. */
  events: MyChatsData['myChats'][];
  errors: ErrorLike[];
}

/** The list as the watched query last emitted it: `[id, preview, other user's id]` per chat. */
const rows = (watched: WatchedChatList) =>
  (watched.emitted.at(-1)?.chats.edges ?? []).map(({ node }) => [
    node.id,
    node.lastMessagePreview,
    node.otherUser?.id,
  ]);

/**
 * A chat list screen: `watchQuery(chats(first: 20))` plus `subscribeToMore(myChats)`. With
 * `reorder: false` its `updateQuery` records the event and changes nothing, so whatever the list
 * then shows came from the cache write of the subscription result alone.
 */
async function watchChatList(user: AppUser, { reorder = true } = {}): Promise<WatchedChatList> {
  const client = apolloClient(user.token);
  const watched: WatchedChatList = { client, emitted: [], events: [], errors: [] };
  const observable = client.apollo.watchQuery({ query: CHAT_LIST, variables: { first: 20 } });
  const subscription = observable.subscribe({
    next: (result) => {
      if (result.dataState === 'complete') watched.emitted.push(result.data);
      if (result.error) watched.errors.push(result.error);
    },
    error: (error: ErrorLike) => watched.errors.push(error),
  });
  cleanups.push(() => subscription.unsubscribe());
  await waitFor(() => watched.emitted.length > 0, 'the chat list');
  const stop = observable.subscribeToMore({
    document: MY_CHATS,
    updateQuery: (previous, options) => {
      watched.events.push(options.subscriptionData.data.myChats);
      return reorder ? applyChatListChange(previous, options) : undefined;
    },
    onError: (error) => watched.errors.push(error),
  });
  cleanups.push(stop);
  return watched;
}

/**
 * `myChats` has no "started" signal either: `sender` sends probe messages in `chatId` (a chat of
 * the watcher's) until one comes back as UPDATED, so that every later change must arrive too.
 */
async function untilChatListLive(
  watched: WatchedChatList,
  sender: AppUser,
  chatId: string,
): Promise<void> {
  const live = () =>
    watched.events.some(
      (event) =>
        event.change === 'UPDATED' &&
        event.chat.id === chatId &&
        event.chat.lastMessagePreview?.startsWith('probe'),
    );
  const deadline = Date.now() + TIMEOUT;
  for (let probe = 0; !live(); probe += 1) {
    if (Date.now() > deadline) throw new Error('myChats did not go live');
    await sendMessage(server, sender, chatId, `probe ${probe}`);
    await waitFor(live, 'a probe', 200).catch(() => undefined);
  }
  await sleep(100);
}

/** A user with a chat with each of `count` others, each with one message; oldest chat first. */
async function userWithChats(count: number) {
  const me = await register();
  const others: AppUser[] = [];
  const chatIds: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const other = await register();
    const chatId = await openChat(other, me);
    await sendMessage(server, other, chatId, `hello from ${i}`);
    others.push(other);
    chatIds.push(chatId);
  }
  return { me, others, chatIds };
}

/** The `Chat:<id>` entry as the cache holds it, read through the list item fragment. */
const cachedChat = (apollo: ApolloClient, id: string) =>
  apollo.cache.readFragment({
    fragment: CHAT_LIST_ITEM,
    id: apollo.cache.identify({ __typename: 'Chat', id }),
  });

describe('Apollo Client: myChats keeps a chat list current', () => {
  it('shows a chat another user opens at the top of the watched list, without refetching', async () => {
    const { me: a, others, chatIds } = await userWithChats(2);
    const [older, probe] = chatIds as [string, string];
    const watched = await watchChatList(a);
    expect(rows(watched).map(([id]) => id)).toEqual([probe, older]);
    await untilChatListLive(watched, others[1]!, probe);

    // B opens the chat from B's own Apollo Client.
    const b = await register();
    const clientB = apolloClient(b.token);
    const created = await clientB.apollo.mutate({
      mutation: CREATE_CHAT,
      variables: { otherUserId: a.id },
    });
    expect(created.error).toBeUndefined();
    const opened = created.data!.createChat.id;

    await waitFor(() => rows(watched)[0]?.[0] === opened, 'the new chat on top of the list');
    expect(rows(watched)).toEqual([
      [opened, null, b.id],
      [probe, expect.stringMatching(/^probe /), others[1]!.id],
      [older, 'hello from 0', others[0]!.id],
    ]);
    expect(watched.emitted.at(-1)!.chats.edges[0]!.node).toEqual({
      __typename: 'Chat',
      id: opened,
      lastMessagePreview: null,
      lastMessageAt: null,
      otherUser: { __typename: 'User', id: b.id, username: b.username },
    });
    expect(watched.events.filter((event) => event.chat.id === opened)).toEqual([
      {
        __typename: 'ChatListEvent',
        change: 'ADDED',
        chat: expect.objectContaining({ id: opened }),
      },
    ]);
    // The list was read over HTTP once; the new chat came over the socket.
    expect(watched.client.httpOperations).toEqual(['ChatList']);
    expect(watched.errors).toEqual([]);
    expect(entry(snapshot(watched.client.apollo), `Chat:${opened}`)).toMatchObject({
      id: opened,
      otherUser: { __ref: `User:${b.id}` },
    });
  });

  it('moves a chat with a new message to the top, keeping the order of the others', async () => {
    const { me: a, others, chatIds } = await userWithChats(3);
    const [oldest, middle, newest] = chatIds as [string, string, string];
    const watched = await watchChatList(a);
    expect(rows(watched).map(([id]) => id)).toEqual([newest, middle, oldest]);
    // Probes in the newest chat leave the order as it is.
    await untilChatListLive(watched, others[2]!, newest);

    await sendMessage(server, others[0]!, oldest, 'moved up');

    await waitFor(() => rows(watched)[0]?.[0] === oldest, 'the oldest chat on top');
    expect(rows(watched)).toEqual([
      [oldest, 'moved up', others[0]!.id],
      [newest, expect.stringMatching(/^probe /), others[2]!.id],
      [middle, 'hello from 1', others[1]!.id],
    ]);
    const [top, second] = watched.emitted.at(-1)!.chats.edges.map((edge) => edge.node);
    expect(Date.parse(top!.lastMessageAt!)).toBeGreaterThanOrEqual(
      Date.parse(second!.lastMessageAt!),
    );
    expect(watched.events.filter((event) => event.chat.id === oldest)).toEqual([
      {
        __typename: 'ChatListEvent',
        change: 'UPDATED',
        chat: expect.objectContaining({ id: oldest, lastMessagePreview: 'moved up' }),
      },
    ]);
    // The cached Chat entity carries the new summary.
    expect(cachedChat(watched.client.apollo, oldest)).toMatchObject({
      lastMessagePreview: 'moved up',
      lastMessageAt: top!.lastMessageAt,
    });
    expect(watched.client.httpOperations).toEqual(['ChatList']);
    expect(watched.errors).toEqual([]);

    // What the cache kept is what reading the list again returns.
    const fresh = await watched.client.apollo.query({
      query: CHAT_LIST,
      variables: { first: 20 },
      fetchPolicy: 'no-cache',
    });
    expect(
      fresh.data!.chats.edges.map(({ node }) => [
        node.id,
        node.lastMessagePreview,
        node.otherUser?.id,
      ]),
    ).toEqual(rows(watched));
  });

  it("updates a listed chat's preview through normalisation alone, before any reordering", async () => {
    const { me: a, others, chatIds } = await userWithChats(3);
    const [oldest, middle, newest] = chatIds as [string, string, string];
    const watched = await watchChatList(a, { reorder: false });
    await untilChatListLive(watched, others[2]!, newest);

    const shownBefore = watched.emitted.length;
    await sendMessage(server, others[0]!, oldest, 'normalised');

    await waitFor(
      () => rows(watched).find(([id]) => id === oldest)?.[1] === 'normalised',
      'the new preview in the watched list',
    );
    // updateQuery changed nothing: the order is the one read over HTTP, the preview is new.
    expect(rows(watched)).toEqual([
      [newest, expect.stringMatching(/^probe /), others[2]!.id],
      [middle, 'hello from 1', others[1]!.id],
      [oldest, 'normalised', others[0]!.id],
    ]);
    expect(watched.emitted.length).toBeGreaterThan(shownBefore);
    const event = watched.events.find((e) => e.chat.id === oldest);
    expect(event).toMatchObject({ change: 'UPDATED', chat: { lastMessagePreview: 'normalised' } });
    expect(cachedChat(watched.client.apollo, oldest)).toEqual({
      __typename: 'Chat',
      id: oldest,
      lastMessagePreview: 'normalised',
      lastMessageAt: event!.chat.lastMessageAt,
      otherUser: { __typename: 'User', id: others[0]!.id, username: others[0]!.username },
    });
    expect(watched.client.httpOperations).toEqual(['ChatList']);
  });

  it('delivers nothing about chats the caller is not in', async () => {
    const p = await register();
    const a = await register();
    const b = await register();
    const probeA = await openChat(p, a);
    const probeB = await openChat(p, b);
    const watchedA = await watchChatList(a);
    const watchedB = await watchChatList(b);
    await untilChatListLive(watchedA, p, probeA);
    await untilChatListLive(watchedB, p, probeB);

    // C opens a chat with B and both write in it.
    const c = await register();
    const theirs = await openChat(c, b);
    await sendMessage(server, c, theirs, 'not for A');
    await sendMessage(server, b, theirs, 'nor this');
    await waitFor(
      () => rows(watchedB)[0]?.[0] === theirs && rows(watchedB)[0]?.[1] === 'nor this',
      "B's list to show the chat C opened",
    );
    expect(watchedB.events.filter((e) => e.chat.id === theirs).map((e) => e.change)).toEqual([
      'ADDED',
      'UPDATED',
      'UPDATED',
    ]);

    // A's subscription still delivers (a fence on A's own chat), and nothing else comes.
    await sendMessage(server, p, probeA, 'fence');
    await waitFor(() => rows(watchedA)[0]?.[1] === 'fence', "the fence in A's list");
    await sleep(500);
    expect(new Set(watchedA.events.map((e) => e.chat.id))).toEqual(new Set([probeA]));
    expect(rows(watchedA).map(([id]) => id)).toEqual([probeA]);
    expect(entry(snapshot(watchedA.client.apollo), `Chat:${theirs}`)).toBeUndefined();
    expect(watchedA.errors).toEqual([]);
  });

  it('refuses myChats without a token: UNAUTHENTICATED and no data', async () => {
    const anonymous = apolloClient();
    const sub = subscribe(anonymous.apollo, MY_CHATS, {});
    await waitFor(() => sub.errors.length > 0, 'the subscription to be refused');
    const [error] = sub.errors;
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors.map((e) => e.extensions?.code)).toContain(
      'UNAUTHENTICATED',
    );
    expect(sub.data).toEqual([]);
  });

  it('delivers chatEvents as MessageAdded (possibleTypes), numbered one after another', async () => {
    const a = await register();
    const b = await register();
    const chatId = await openChat(a, b);
    const clientA = apolloClient(a.token, undefined, { ChatEvent: ['MessageAdded'] });
    const clientB = apolloClient(b.token);

    const sub = subscribe(clientA.apollo, CHAT_EVENTS, { chatId });
    const probes = await untilLive(b, chatId, () =>
      sub.data.flatMap((d) => (d.chatEvents.message ? [d.chatEvents.message.id] : [])),
    );

    const sent: string[] = [];
    for (const [client, content] of [
      [clientA, 'first event'],
      [clientB, 'second event'],
    ] as const) {
      const { data } = await client.apollo.mutate({
        mutation: SEND_MESSAGE,
        variables: { chatId, content },
      });
      sent.push(data!.sendMessage.id);
    }
    await waitFor(
      () => sub.data.filter((d) => !probes.has(d.chatEvents.message?.id ?? '')).length >= 2,
      'the two events',
    );
    await sleep(200);

    const events = sub.data.map((d) => d.chatEvents);
    expect(events.every((event) => event.__typename === 'MessageAdded')).toBe(true);
    expect(events.every((event) => event.chatId === chatId)).toBe(true);
    const seqs = events.map((event) => event.seq);
    expect(seqs.every((seq) => typeof seq === 'number')).toBe(true);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(new Set(events.map((event) => event.cursor)).size).toBe(events.length);
    expect(events.filter((event) => !probes.has(event.message!.id))).toEqual([
      expect.objectContaining({
        message: expect.objectContaining({ id: sent[0], content: 'first event' }),
      }),
      expect.objectContaining({
        message: expect.objectContaining({ id: sent[1], content: 'second event' }),
      }),
    ]);
    expect(sub.errors).toEqual([]);
    // The message inside the event normalised like any other.
    expect(entry(snapshot(clientA.apollo), `Message:${sent[1]}`)).toMatchObject({
      content: 'second event',
      sender: { __ref: `User:${b.id}` },
    });
  });
});
