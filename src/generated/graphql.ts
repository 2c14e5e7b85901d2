import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { UserModel, ChatDoc, MessageModel, ReadPositionDoc, ReactionSnapshot, GroupMember } from '../db/documents.js';
import type { AuthResult } from '../auth/service.js';
import type { ChatPage, ChatPageEdge, ChatListEntry } from '../chats/service.js';
import type { MessagePage, MessagePageEdge } from '../messages/service.js';
import type { ChatFeedEvent, ChatEvent as ChatEventModel, ReadStateEvent, TypingEvent } from '../events/bus.js';
import type { MemberPage, MemberPageEdge } from '../groups/service.js';
import type { UploadTicket, AttachmentModel } from '../attachments/service.js';
import type { GraphQLContext } from '../graphql/context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = T | null;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An ISO 8601 date-time in UTC, e.g. `2024-01-01T12:00:00.000Z`. */
  DateTime: { input: Date; output: Date; }
};

/** A file sent with a message. */
export type Attachment = {
  __typename?: 'Attachment';
  /** As declared by the sender (an IMAGE's was checked against its bytes). */
  contentType: Scalars['String']['output'];
  fileName: Scalars['String']['output'];
  height: Maybe<Scalars['Int']['output']>;
  id: Scalars['ID']['output'];
  kind: AttachmentKind;
  size: Scalars['Int']['output'];
  /** IMAGE: a signed link to a WebP thumbnail of at most 320 × 320 pixels. */
  thumbnailUrl: Maybe<Scalars['String']['output']>;
  /**
   * A signed link to the bytes, valid for a few minutes (DOWNLOAD_URL_SECONDS): ask again for a
   * fresh one. Images are served inline, anything else as a download.
   */
  url: Scalars['String']['output'];
  /** IMAGE: its dimensions as shown, in pixels. */
  width: Maybe<Scalars['Int']['output']>;
};

/** IMAGE: an image of an allow-listed type (PNG, JPEG, GIF, WebP), shown inline; FILE: anything else. */
export type AttachmentKind =
  | 'FILE'
  | 'IMAGE';

export type AuthPayload = {
  __typename?: 'AuthPayload';
  accessToken: Scalars['String']['output'];
  /** Always `bearer`. */
  tokenType: Scalars['String']['output'];
  user: User;
};

/** A conversation: one-to-one (`DIRECT`) or a group. */
export type Chat = {
  __typename?: 'Chat';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  kind: ChatKind;
  lastMessage: Maybe<Message>;
  lastMessageAt: Maybe<Scalars['DateTime']['output']>;
  /** Text of the newest message (kept on the chat for cheap listing). */
  lastMessagePreview: Maybe<Scalars['String']['output']>;
  /** The members with their roles, longest-standing first (one-to-one chats: both, as MEMBER). */
  members: ChatMemberConnection;
  messages: MessageConnection;
  /** The participant who is not the caller (one-to-one chats); null for groups. */
  otherUser: Maybe<User>;
  /** Everyone in the chat now. */
  participants: Array<User>;
  /**
   * Where the other members have read up to, most recent first, for "seen" ticks: the other user of
   * a one-to-one chat; in a group up to 100 members, the most recent readers. Members who turned
   * read receipts off are not shown.
   */
  readPositions: Array<ReadPosition>;
  /** A group's name; null for one-to-one chats. */
  title: Maybe<Scalars['String']['output']>;
  /**
   * Messages after the caller's read position, not counting their own, SYSTEM messages or deleted
   * ones. Exact up to 99, then 99: show "99+".
   */
  unreadCount: Scalars['Int']['output'];
  /** The caller's role in a group; null for one-to-one chats. */
  viewerRole: Maybe<ChatRole>;
};


/** A conversation: one-to-one (`DIRECT`) or a group. */
export type ChatMembersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** A conversation: one-to-one (`DIRECT`) or a group. */
export type ChatMessagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};

export type ChatConnection = {
  __typename?: 'ChatConnection';
  edges: Array<ChatEdge>;
  pageInfo: PageInfo;
};

export type ChatEdge = {
  __typename?: 'ChatEdge';
  cursor: Scalars['String']['output'];
  node: Chat;
};

/**
 * One event on a chat's timeline. A chat's events are numbered in the order they were stored
 * (`seq`: 1, 2, 3, … with no gaps) and delivered in that order, each once, on every transport and
 * server instance. Resume after a disconnect with `chatEvents(chatId, after: <cursor of the last
 * event received>)`: every later event arrives, in order, exactly once, then live ones.
 *
 * Kinds of events are added as the product grows (edits, deletions, reactions, membership); select
 * the ones a client understands with fragments and ignore the rest.
 */
export type ChatEvent = {
  chatId: Scalars['ID']['output'];
  /** The event's position in its chat's timeline: pass it as `after` to resume from here. */
  cursor: Scalars['String']['output'];
  /**
   * The event's number in its chat: one more than the event before it. Null for messages stored
   * before numbering began (they come before every numbered event) and for live events that are
   * not stored in the timeline (`ReadStateChanged`, `TypingChanged`: never replayed).
   */
  seq: Maybe<Scalars['Int']['output']>;
};

export type ChatKind =
  | 'DIRECT'
  | 'GROUP';

export type ChatListChange =
  /** The caller was added to this chat (someone opened it with them, or they opened it on another device). */
  | 'ADDED'
  /** The caller no longer takes part in this chat: drop it from the list. */
  | 'REMOVED'
  /** The chat's summary changed (a new last message): move it to the top of the list. */
  | 'UPDATED';

/** A change to the caller's chat list; the chat comes with its `id`, so a normalized cache updates by itself. */
export type ChatListEvent = {
  __typename?: 'ChatListEvent';
  change: ChatListChange;
  chat: Chat;
};

export type ChatMember = {
  __typename?: 'ChatMember';
  /** When they (last) joined. */
  joinedAt: Scalars['DateTime']['output'];
  role: ChatRole;
  user: User;
};

export type ChatMemberConnection = {
  __typename?: 'ChatMemberConnection';
  edges: Array<ChatMemberEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type ChatMemberEdge = {
  __typename?: 'ChatMemberEdge';
  cursor: Scalars['String']['output'];
  node: ChatMember;
};

/** A group was renamed. Shown in history as a SYSTEM message (`message`). */
export type ChatRenamed = ChatEvent & {
  __typename?: 'ChatRenamed';
  actor: User;
  chatId: Scalars['ID']['output'];
  cursor: Scalars['String']['output'];
  message: Message;
  seq: Maybe<Scalars['Int']['output']>;
  title: Scalars['String']['output'];
};

/**
 * What a member of a group may do. OWNER and ADMIN add and remove members and rename the group;
 * only an OWNER changes roles; an ADMIN cannot remove an OWNER or another ADMIN.
 */
export type ChatRole =
  | 'ADMIN'
  | 'MEMBER'
  | 'OWNER';

/**
 * A group's members changed. A member removed (or leaving) receives this event, then their
 * subscriptions to the chat end. Shown in history as a SYSTEM message (`message`).
 */
export type MembersChanged = ChatEvent & {
  __typename?: 'MembersChanged';
  /** Who did it. */
  actor: User;
  change: MembershipChange;
  chatId: Scalars['ID']['output'];
  cursor: Scalars['String']['output'];
  message: Message;
  /** ROLE_CHANGED: the new role. */
  role: Maybe<ChatRole>;
  seq: Maybe<Scalars['Int']['output']>;
  /** Whom it concerns. */
  users: Array<User>;
};

export type MembershipChange =
  | 'ADDED'
  /** The group was opened with these members. */
  | 'CREATED'
  | 'LEFT'
  | 'REMOVED'
  /** `role` is the member's new role (also when ownership passes on as the last owner leaves). */
  | 'ROLE_CHANGED';

export type Message = {
  __typename?: 'Message';
  /** Files sent with the message, in the order given. */
  attachments: Array<Attachment>;
  chat: Chat;
  /** The id the sender's client chose for safe retries, if any. */
  clientMessageId: Maybe<Scalars['String']['output']>;
  content: Scalars['String']['output'];
  createdAt: Scalars['DateTime']['output'];
  /** The message's position in its chat, as in `chat.messages` edges: resume from here with `after`. */
  cursor: Scalars['String']['output'];
  /** When it was deleted; null while it is not. */
  deletedAt: Maybe<Scalars['DateTime']['output']>;
  /** When the sender last edited it; null if never. */
  editedAt: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  /** A deleted message is a tombstone: its content is erased (reads as an empty string), no reactions. */
  isDeleted: Scalars['Boolean']['output'];
  /** True when the caller sent this message. */
  isOwn: Scalars['Boolean']['output'];
  kind: MessageKind;
  /** The emoji people reacted with, each once, in the order they were first used (none when deleted). */
  reactions: Array<ReactionGroup>;
  /**
   * Members other than the sender who have read this message, most recent readers first (at most
   * `first`, 100 at most). Members who turned read receipts off are not shown.
   */
  readBy: Array<User>;
  /** The message this one replies to (a deleted one shows as deleted). */
  replyTo: Maybe<Message>;
  sender: User;
};


export type MessageReadByArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** A message was sent. */
export type MessageAdded = ChatEvent & {
  __typename?: 'MessageAdded';
  chatId: Scalars['ID']['output'];
  cursor: Scalars['String']['output'];
  message: Message;
  seq: Maybe<Scalars['Int']['output']>;
};

/** Messages oldest first; page forwards with first/after or backwards with last/before. */
export type MessageConnection = {
  __typename?: 'MessageConnection';
  edges: Array<MessageEdge>;
  pageInfo: PageInfo;
};

/** A message was deleted: `message` is its tombstone. */
export type MessageDeleted = ChatEvent & {
  __typename?: 'MessageDeleted';
  /** Who deleted it: its sender, or a group's OWNER or ADMIN. */
  actor: User;
  chatId: Scalars['ID']['output'];
  cursor: Scalars['String']['output'];
  message: Message;
  seq: Maybe<Scalars['Int']['output']>;
};

export type MessageEdge = {
  __typename?: 'MessageEdge';
  cursor: Scalars['String']['output'];
  node: Message;
};

/** A message was edited: `message` as it reads after the edit. */
export type MessageEdited = ChatEvent & {
  __typename?: 'MessageEdited';
  chatId: Scalars['ID']['output'];
  cursor: Scalars['String']['output'];
  message: Message;
  seq: Maybe<Scalars['Int']['output']>;
};

/**
 * TEXT: written by a user; SYSTEM: a group change, shown in history (its `content` says it in
 * words); IMAGE: sent with attachments that are all images; FILE: sent with attachments of which at
 * least one is not an image.
 */
export type MessageKind =
  | 'FILE'
  | 'IMAGE'
  | 'SYSTEM'
  | 'TEXT';

export type Mutation = {
  __typename?: 'Mutation';
  /**
   * Adds users to a group (OWNER or ADMIN); users already in it are left as they are. They see the
   * group's messages from the moment they join, or all of them with `shareHistory: true`.
   */
  addChatMembers: Chat;
  /**
   * Reacts to a message with one emoji (a single emoji grapheme). Once per user and emoji: adding it
   * again changes nothing. At most 20 distinct emoji per message and 3 per user per message: past
   * either, BAD_USER_INPUT. A deleted message is BAD_USER_INPUT.
   */
  addReaction: Message;
  /** Opens the chat with another user, or returns the one the pair already has. */
  createChat: Chat;
  /**
   * Opens a group with the caller as its OWNER and `memberIds` as MEMBERs (at most
   * MAX_GROUP_MEMBERS in all, 1,000 by default). Unknown users: NOT_FOUND.
   */
  createGroupChat: Chat;
  /**
   * Starts an upload of `size` bytes of `contentType` to a chat the caller is in. Counts against
   * the caller's daily upload quota (UPLOAD_BYTES_PER_DAY) and upload rate limit.
   */
  createUpload: Upload;
  /**
   * Deletes a message for everyone: the sender may, and in a group an OWNER or ADMIN. Its content is
   * erased, its reactions removed, and the chat's summary falls back to the previous live message.
   * Deleting a deleted message changes nothing.
   */
  deleteMessage: Message;
  /**
   * Replaces the content of a message the caller sent (validated as in `sendMessage`); the chat's
   * summary follows when it is the chat's newest. A deleted message is BAD_USER_INPUT; another's
   * is FORBIDDEN.
   */
  editMessage: Message;
  /**
   * Leaves a group. The last OWNER leaving hands ownership to the longest-standing ADMIN, else
   * MEMBER; the last member leaving closes the group.
   */
  leaveChat: Scalars['Boolean']['output'];
  login: AuthPayload;
  /** Revokes every token issued to the caller so far and marks them offline. */
  logout: Scalars['Boolean']['output'];
  /**
   * Marks the chat read up to `upTo` (a message `cursor`; default: the newest message). Read
   * positions only move forward: marking a position at or before the current one changes nothing.
   * Sending a message marks the chat read up to it for the sender.
   */
  markChatRead: Chat;
  /** Moves the caller's read position back to just before the message `from` (a message `cursor`). */
  markChatUnread: Chat;
  /** Sets a new password after proving the security phrase; revokes earlier tokens. */
  recoverAccount: AuthPayload;
  register: AuthPayload;
  /**
   * Removes a member (OWNER or ADMIN; an ADMIN cannot remove an OWNER or another ADMIN). Removing
   * a non-member changes nothing. Their live subscriptions to the chat end at once.
   */
  removeChatMember: Chat;
  /** Takes the caller's reaction back; removing one that is not there changes nothing. */
  removeReaction: Message;
  /** Renames a group (OWNER or ADMIN). */
  renameChat: Chat;
  /**
   * Stores and broadcasts a message. Retrying with the same `clientMessageId` returns the first
   * message instead of creating another. `attachmentIds` (at most 10) are uploads of the caller's
   * for this chat (`createUpload`), each attached once; with them `content` may be empty.
   * `replyTo` quotes a message of the same chat the sender can see (not a deleted one); anything
   * else is BAD_USER_INPUT.
   */
  sendMessage: Message;
  /** Gives a member another role (OWNER only). */
  setChatMemberRole: Chat;
  /**
   * Whether the caller's read positions are shown to others (`readPositions`, `readBy`,
   * `ReadStateChanged`); on by default. Off, they still count for the caller's own unread counts.
   */
  setReadReceipts: User;
  /**
   * Says the caller is typing in the chat (`true`; call again at least every 6 s while they type,
   * e.g. on each keystroke: renewals within 2 s are not passed on) or has stopped (`false`).
   * Other members see it as `TypingChanged` in `chatEvents`. Nothing is stored.
   */
  setTyping: Scalars['Boolean']['output'];
};


export type MutationAddChatMembersArgs = {
  chatId: Scalars['ID']['input'];
  shareHistory?: InputMaybe<Scalars['Boolean']['input']>;
  userIds: Array<Scalars['ID']['input']>;
};


export type MutationAddReactionArgs = {
  emoji: Scalars['String']['input'];
  messageId: Scalars['ID']['input'];
};


export type MutationCreateChatArgs = {
  otherUserId: Scalars['ID']['input'];
};


export type MutationCreateGroupChatArgs = {
  memberIds: Array<Scalars['ID']['input']>;
  title: Scalars['String']['input'];
};


export type MutationCreateUploadArgs = {
  chatId: Scalars['ID']['input'];
  contentType: Scalars['String']['input'];
  fileName: Scalars['String']['input'];
  size: Scalars['Int']['input'];
};


export type MutationDeleteMessageArgs = {
  messageId: Scalars['ID']['input'];
};


export type MutationEditMessageArgs = {
  content: Scalars['String']['input'];
  messageId: Scalars['ID']['input'];
};


export type MutationLeaveChatArgs = {
  chatId: Scalars['ID']['input'];
};


export type MutationLoginArgs = {
  password: Scalars['String']['input'];
  username: Scalars['String']['input'];
};


export type MutationMarkChatReadArgs = {
  chatId: Scalars['ID']['input'];
  upTo?: InputMaybe<Scalars['String']['input']>;
};


export type MutationMarkChatUnreadArgs = {
  chatId: Scalars['ID']['input'];
  from: Scalars['String']['input'];
};


export type MutationRecoverAccountArgs = {
  newPassword: Scalars['String']['input'];
  securityPhrase: Scalars['String']['input'];
  username: Scalars['String']['input'];
};


export type MutationRegisterArgs = {
  input: RegisterInput;
};


export type MutationRemoveChatMemberArgs = {
  chatId: Scalars['ID']['input'];
  userId: Scalars['ID']['input'];
};


export type MutationRemoveReactionArgs = {
  emoji: Scalars['String']['input'];
  messageId: Scalars['ID']['input'];
};


export type MutationRenameChatArgs = {
  chatId: Scalars['ID']['input'];
  title: Scalars['String']['input'];
};


export type MutationSendMessageArgs = {
  attachmentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  chatId: Scalars['ID']['input'];
  clientMessageId?: InputMaybe<Scalars['String']['input']>;
  content: Scalars['String']['input'];
  replyTo?: InputMaybe<Scalars['ID']['input']>;
};


export type MutationSetChatMemberRoleArgs = {
  chatId: Scalars['ID']['input'];
  role: ChatRole;
  userId: Scalars['ID']['input'];
};


export type MutationSetReadReceiptsArgs = {
  enabled: Scalars['Boolean']['input'];
};


export type MutationSetTypingArgs = {
  chatId: Scalars['ID']['input'];
  typing: Scalars['Boolean']['input'];
};

/** Relay pagination state of a connection. */
export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor: Maybe<Scalars['String']['output']>;
};

export type Query = {
  __typename?: 'Query';
  /** A chat the caller takes part in; null when it does not exist or is not theirs. */
  chat: Maybe<Chat>;
  /** The caller's chats, newest activity first. */
  chats: ChatConnection;
  /** The signed-in user. */
  me: User;
  /** Case-insensitive substring match on username, first or last name; never includes the caller. */
  searchUsers: Array<User>;
  user: Maybe<User>;
};


export type QueryChatArgs = {
  id: Scalars['ID']['input'];
};


export type QueryChatsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QuerySearchUsersArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
  query: Scalars['String']['input'];
};


export type QueryUserArgs = {
  id: Scalars['ID']['input'];
};

/** Everyone who reacted to a message with one emoji. */
export type ReactionGroup = {
  __typename?: 'ReactionGroup';
  count: Scalars['Int']['output'];
  /** A single emoji grapheme (e.g. 👍, 👍🏽, 🇫🇷, 👩‍💻). */
  emoji: Scalars['String']['output'];
  /** True when the caller is among them. */
  reactedByMe: Scalars['Boolean']['output'];
  /** The first of them to react, earliest first (at most 100). */
  users: Array<User>;
};


/** Everyone who reacted to a message with one emoji. */
export type ReactionGroupUsersArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** A message's reactions changed: `message.reactions` as they stand after the change. */
export type ReactionsChanged = ChatEvent & {
  __typename?: 'ReactionsChanged';
  /** Whose reaction changed them. */
  actor: User;
  chatId: Scalars['ID']['output'];
  cursor: Scalars['String']['output'];
  message: Message;
  seq: Maybe<Scalars['Int']['output']>;
};

/** Where a member has read a chat up to. */
export type ReadPosition = {
  __typename?: 'ReadPosition';
  /** The `cursor` of the last message they have read; null when they have read nothing. */
  cursor: Maybe<Scalars['String']['output']>;
  /** When they marked it. */
  readAt: Maybe<Scalars['DateTime']['output']>;
  user: User;
};

/**
 * A member's read position moved (not the caller's own: that shows on `myChats` as UPDATED).
 * At most one per member and chat per second, carrying the newest position. Delivered only to
 * subscriptions that select it (`... on ReadStateChanged`). Not stored in the
 * timeline: `seq` is null, it is not replayed, and its `cursor` is the position read up to (read
 * `Chat.readPositions` after a reconnect).
 */
export type ReadStateChanged = ChatEvent & {
  __typename?: 'ReadStateChanged';
  chatId: Scalars['ID']['output'];
  /** The `cursor` of the last message `user` has read. */
  cursor: Scalars['String']['output'];
  seq: Maybe<Scalars['Int']['output']>;
  user: User;
};

export type RegisterInput = {
  email: Scalars['String']['input'];
  firstName: Scalars['String']['input'];
  lastName: Scalars['String']['input'];
  mobileNo: Scalars['String']['input'];
  password: Scalars['String']['input'];
  /** Answer to the account's security question; used by `recoverAccount`. */
  securityPhrase: Scalars['String']['input'];
  username: Scalars['String']['input'];
};

export type Subscription = {
  __typename?: 'Subscription';
  /**
   * Everything that happens in a chat the caller takes part in, in timeline order. With `after`
   * (a `cursor` of this feed, of `messageAdded` or of `chat.messages`), first every event stored
   * after that position, then live ones: nothing is missed and nothing arrives twice.
   */
  chatEvents: ChatEvent;
  /**
   * New messages of one chat the caller takes part in, in timeline order: the messages-only view of
   * `chatEvents` (a group change comes as its SYSTEM message, as in history). With `after` (the `cursor` of the last message seen), every message stored since
   * is delivered first, then live ones: a client that reconnects misses nothing and gets nothing
   * twice.
   */
  messageAdded: Message;
  /**
   * Changes to the caller's chat list, live: chats added, chats with a new last message, chats
   * removed. Not resumable: after a reconnect, read `chats` again.
   */
  myChats: ChatListEvent;
  /**
   * Emits a user whenever their online status changes. Watches `userIds` when given, otherwise
   * everyone the caller shares a chat with when the subscription starts.
   */
  presenceChanged: User;
};


export type SubscriptionChatEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  chatId: Scalars['ID']['input'];
};


export type SubscriptionMessageAddedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  chatId: Scalars['ID']['input'];
};


export type SubscriptionPresenceChangedArgs = {
  userIds?: InputMaybe<Array<Scalars['ID']['input']>>;
};

/**
 * Who is typing in the chat now: the whole list each time (replace, do not merge). A member stops
 * typing when they say so, when they send a message, or 6 s after their last `setTyping(true)`.
 * Delivered only to subscriptions that select it (`... on TypingChanged`), first with who is typing
 * already.
 * Not stored in the timeline: `seq` is null and it is not replayed; its `cursor` is the position of
 * the last timeline event before it (resuming from it misses nothing).
 */
export type TypingChanged = ChatEvent & {
  __typename?: 'TypingChanged';
  chatId: Scalars['ID']['output'];
  cursor: Scalars['String']['output'];
  seq: Maybe<Scalars['Int']['output']>;
  users: Array<User>;
};

/**
 * An upload started with `createUpload`: PUT the bytes to `uploadUrl` (the declared `Content-Type`
 * and exactly the declared size), then attach it with `sendMessage(…, attachmentIds: [id])` within
 * an hour.
 */
export type Upload = {
  __typename?: 'Upload';
  expiresAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  /** The largest upload the server accepts, in bytes (MAX_UPLOAD_BYTES). */
  maxBytes: Scalars['Int']['output'];
  /** Where to PUT the bytes; works until `expiresAt`. */
  uploadUrl: Scalars['String']['output'];
};

export type User = {
  __typename?: 'User';
  createdAt: Maybe<Scalars['DateTime']['output']>;
  /** Visible to the user themself only; null for everyone else. */
  email: Maybe<Scalars['String']['output']>;
  firstName: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  /** True while the user holds at least one live connection (or has just logged in). */
  isOnline: Scalars['Boolean']['output'];
  lastName: Scalars['String']['output'];
  /** Visible to the user themself only; null for everyone else. */
  mobileNo: Maybe<Scalars['String']['output']>;
  /** How many of their chats hold unread messages (see `Chat.unreadCount`). The caller's own only; null for everyone else. */
  unreadChatsCount: Maybe<Scalars['Int']['output']>;
  username: Scalars['String']['output'];
};



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  Attachment: ResolverTypeWrapper<AttachmentModel>;
  AttachmentKind: AttachmentKind;
  AuthPayload: ResolverTypeWrapper<AuthResult>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Chat: ResolverTypeWrapper<ChatDoc>;
  ChatConnection: ResolverTypeWrapper<ChatPage>;
  ChatEdge: ResolverTypeWrapper<ChatPageEdge>;
  ChatEvent: ResolverTypeWrapper<ChatFeedEvent>;
  ChatKind: ChatKind;
  ChatListChange: ChatListChange;
  ChatListEvent: ResolverTypeWrapper<ChatListEntry>;
  ChatMember: ResolverTypeWrapper<GroupMember>;
  ChatMemberConnection: ResolverTypeWrapper<MemberPage>;
  ChatMemberEdge: ResolverTypeWrapper<MemberPageEdge>;
  ChatRenamed: ResolverTypeWrapper<ChatEventModel>;
  ChatRole: ChatRole;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  MembersChanged: ResolverTypeWrapper<ChatEventModel>;
  MembershipChange: MembershipChange;
  Message: ResolverTypeWrapper<MessageModel>;
  MessageAdded: ResolverTypeWrapper<ChatEventModel>;
  MessageConnection: ResolverTypeWrapper<MessagePage>;
  MessageDeleted: ResolverTypeWrapper<ChatEventModel>;
  MessageEdge: ResolverTypeWrapper<MessagePageEdge>;
  MessageEdited: ResolverTypeWrapper<ChatEventModel>;
  MessageKind: MessageKind;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  ReactionGroup: ResolverTypeWrapper<ReactionSnapshot>;
  ReactionsChanged: ResolverTypeWrapper<ChatEventModel>;
  ReadPosition: ResolverTypeWrapper<ReadPositionDoc>;
  ReadStateChanged: ResolverTypeWrapper<ReadStateEvent>;
  RegisterInput: RegisterInput;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  TypingChanged: ResolverTypeWrapper<TypingEvent>;
  Upload: ResolverTypeWrapper<UploadTicket>;
  User: ResolverTypeWrapper<UserModel>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  Attachment: AttachmentModel;
  AuthPayload: AuthResult;
  Boolean: Scalars['Boolean']['output'];
  Chat: ChatDoc;
  ChatConnection: ChatPage;
  ChatEdge: ChatPageEdge;
  ChatEvent: ChatFeedEvent;
  ChatListEvent: ChatListEntry;
  ChatMember: GroupMember;
  ChatMemberConnection: MemberPage;
  ChatMemberEdge: MemberPageEdge;
  ChatRenamed: ChatEventModel;
  DateTime: Scalars['DateTime']['output'];
  ID: Scalars['ID']['output'];
  Int: Scalars['Int']['output'];
  MembersChanged: ChatEventModel;
  Message: MessageModel;
  MessageAdded: ChatEventModel;
  MessageConnection: MessagePage;
  MessageDeleted: ChatEventModel;
  MessageEdge: MessagePageEdge;
  MessageEdited: ChatEventModel;
  Mutation: Record<PropertyKey, never>;
  PageInfo: PageInfo;
  Query: Record<PropertyKey, never>;
  ReactionGroup: ReactionSnapshot;
  ReactionsChanged: ChatEventModel;
  ReadPosition: ReadPositionDoc;
  ReadStateChanged: ReadStateEvent;
  RegisterInput: RegisterInput;
  String: Scalars['String']['output'];
  Subscription: Record<PropertyKey, never>;
  TypingChanged: TypingEvent;
  Upload: UploadTicket;
  User: UserModel;
};

export type AttachmentResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Attachment'] = ResolversParentTypes['Attachment']> = {
  contentType?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  fileName?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  height?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['AttachmentKind'], ParentType, ContextType>;
  size?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  thumbnailUrl?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  url?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  width?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
};

export type AuthPayloadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['AuthPayload'] = ResolversParentTypes['AuthPayload']> = {
  accessToken?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  tokenType?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type ChatResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Chat'] = ResolversParentTypes['Chat']> = {
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['ChatKind'], ParentType, ContextType>;
  lastMessage?: Resolver<Maybe<ResolversTypes['Message']>, ParentType, ContextType>;
  lastMessageAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  lastMessagePreview?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  members?: Resolver<ResolversTypes['ChatMemberConnection'], ParentType, ContextType, RequireFields<ChatMembersArgs, 'first'>>;
  messages?: Resolver<ResolversTypes['MessageConnection'], ParentType, ContextType, Partial<ChatMessagesArgs>>;
  otherUser?: Resolver<Maybe<ResolversTypes['User']>, ParentType, ContextType>;
  participants?: Resolver<Array<ResolversTypes['User']>, ParentType, ContextType>;
  readPositions?: Resolver<Array<ResolversTypes['ReadPosition']>, ParentType, ContextType>;
  title?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  unreadCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  viewerRole?: Resolver<Maybe<ResolversTypes['ChatRole']>, ParentType, ContextType>;
};

export type ChatConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ChatConnection'] = ResolversParentTypes['ChatConnection']> = {
  edges?: Resolver<Array<ResolversTypes['ChatEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type ChatEdgeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ChatEdge'] = ResolversParentTypes['ChatEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Chat'], ParentType, ContextType>;
};

export type ChatEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ChatEvent'] = ResolversParentTypes['ChatEvent']> = {
  __resolveType: TypeResolveFn<'ChatRenamed' | 'MembersChanged' | 'MessageAdded' | 'MessageDeleted' | 'MessageEdited' | 'ReactionsChanged' | 'ReadStateChanged' | 'TypingChanged', ParentType, ContextType>;
};

export type ChatListEventResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ChatListEvent'] = ResolversParentTypes['ChatListEvent']> = {
  change?: Resolver<ResolversTypes['ChatListChange'], ParentType, ContextType>;
  chat?: Resolver<ResolversTypes['Chat'], ParentType, ContextType>;
};

export type ChatMemberResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ChatMember'] = ResolversParentTypes['ChatMember']> = {
  joinedAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  role?: Resolver<ResolversTypes['ChatRole'], ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type ChatMemberConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ChatMemberConnection'] = ResolversParentTypes['ChatMemberConnection']> = {
  edges?: Resolver<Array<ResolversTypes['ChatMemberEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type ChatMemberEdgeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ChatMemberEdge'] = ResolversParentTypes['ChatMemberEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['ChatMember'], ParentType, ContextType>;
};

export type ChatRenamedResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ChatRenamed'] = ResolversParentTypes['ChatRenamed']> = {
  actor?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
  chatId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['Message'], ParentType, ContextType>;
  seq?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  title?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type MembersChangedResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['MembersChanged'] = ResolversParentTypes['MembersChanged']> = {
  actor?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
  change?: Resolver<ResolversTypes['MembershipChange'], ParentType, ContextType>;
  chatId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['Message'], ParentType, ContextType>;
  role?: Resolver<Maybe<ResolversTypes['ChatRole']>, ParentType, ContextType>;
  seq?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  users?: Resolver<Array<ResolversTypes['User']>, ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type MessageResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Message'] = ResolversParentTypes['Message']> = {
  attachments?: Resolver<Array<ResolversTypes['Attachment']>, ParentType, ContextType>;
  chat?: Resolver<ResolversTypes['Chat'], ParentType, ContextType>;
  clientMessageId?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  content?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  deletedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  editedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  isDeleted?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  isOwn?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['MessageKind'], ParentType, ContextType>;
  reactions?: Resolver<Array<ResolversTypes['ReactionGroup']>, ParentType, ContextType>;
  readBy?: Resolver<Array<ResolversTypes['User']>, ParentType, ContextType, RequireFields<MessageReadByArgs, 'first'>>;
  replyTo?: Resolver<Maybe<ResolversTypes['Message']>, ParentType, ContextType>;
  sender?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type MessageAddedResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['MessageAdded'] = ResolversParentTypes['MessageAdded']> = {
  chatId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['Message'], ParentType, ContextType>;
  seq?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type MessageConnectionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['MessageConnection'] = ResolversParentTypes['MessageConnection']> = {
  edges?: Resolver<Array<ResolversTypes['MessageEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
};

export type MessageDeletedResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['MessageDeleted'] = ResolversParentTypes['MessageDeleted']> = {
  actor?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
  chatId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['Message'], ParentType, ContextType>;
  seq?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type MessageEdgeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['MessageEdge'] = ResolversParentTypes['MessageEdge']> = {
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Message'], ParentType, ContextType>;
};

export type MessageEditedResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['MessageEdited'] = ResolversParentTypes['MessageEdited']> = {
  chatId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['Message'], ParentType, ContextType>;
  seq?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type MutationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = {
  addChatMembers?: Resolver<ResolversTypes['Chat'], ParentType, ContextType, RequireFields<MutationAddChatMembersArgs, 'chatId' | 'shareHistory' | 'userIds'>>;
  addReaction?: Resolver<ResolversTypes['Message'], ParentType, ContextType, RequireFields<MutationAddReactionArgs, 'emoji' | 'messageId'>>;
  createChat?: Resolver<ResolversTypes['Chat'], ParentType, ContextType, RequireFields<MutationCreateChatArgs, 'otherUserId'>>;
  createGroupChat?: Resolver<ResolversTypes['Chat'], ParentType, ContextType, RequireFields<MutationCreateGroupChatArgs, 'memberIds' | 'title'>>;
  createUpload?: Resolver<ResolversTypes['Upload'], ParentType, ContextType, RequireFields<MutationCreateUploadArgs, 'chatId' | 'contentType' | 'fileName' | 'size'>>;
  deleteMessage?: Resolver<ResolversTypes['Message'], ParentType, ContextType, RequireFields<MutationDeleteMessageArgs, 'messageId'>>;
  editMessage?: Resolver<ResolversTypes['Message'], ParentType, ContextType, RequireFields<MutationEditMessageArgs, 'content' | 'messageId'>>;
  leaveChat?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationLeaveChatArgs, 'chatId'>>;
  login?: Resolver<ResolversTypes['AuthPayload'], ParentType, ContextType, RequireFields<MutationLoginArgs, 'password' | 'username'>>;
  logout?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  markChatRead?: Resolver<ResolversTypes['Chat'], ParentType, ContextType, RequireFields<MutationMarkChatReadArgs, 'chatId'>>;
  markChatUnread?: Resolver<ResolversTypes['Chat'], ParentType, ContextType, RequireFields<MutationMarkChatUnreadArgs, 'chatId' | 'from'>>;
  recoverAccount?: Resolver<ResolversTypes['AuthPayload'], ParentType, ContextType, RequireFields<MutationRecoverAccountArgs, 'newPassword' | 'securityPhrase' | 'username'>>;
  register?: Resolver<ResolversTypes['AuthPayload'], ParentType, ContextType, RequireFields<MutationRegisterArgs, 'input'>>;
  removeChatMember?: Resolver<ResolversTypes['Chat'], ParentType, ContextType, RequireFields<MutationRemoveChatMemberArgs, 'chatId' | 'userId'>>;
  removeReaction?: Resolver<ResolversTypes['Message'], ParentType, ContextType, RequireFields<MutationRemoveReactionArgs, 'emoji' | 'messageId'>>;
  renameChat?: Resolver<ResolversTypes['Chat'], ParentType, ContextType, RequireFields<MutationRenameChatArgs, 'chatId' | 'title'>>;
  sendMessage?: Resolver<ResolversTypes['Message'], ParentType, ContextType, RequireFields<MutationSendMessageArgs, 'chatId' | 'content'>>;
  setChatMemberRole?: Resolver<ResolversTypes['Chat'], ParentType, ContextType, RequireFields<MutationSetChatMemberRoleArgs, 'chatId' | 'role' | 'userId'>>;
  setReadReceipts?: Resolver<ResolversTypes['User'], ParentType, ContextType, RequireFields<MutationSetReadReceiptsArgs, 'enabled'>>;
  setTyping?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType, RequireFields<MutationSetTypingArgs, 'chatId' | 'typing'>>;
};

export type PageInfoResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = {
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  hasPreviousPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  startCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
};

export type QueryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  chat?: Resolver<Maybe<ResolversTypes['Chat']>, ParentType, ContextType, RequireFields<QueryChatArgs, 'id'>>;
  chats?: Resolver<ResolversTypes['ChatConnection'], ParentType, ContextType, RequireFields<QueryChatsArgs, 'first'>>;
  me?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
  searchUsers?: Resolver<Array<ResolversTypes['User']>, ParentType, ContextType, RequireFields<QuerySearchUsersArgs, 'first' | 'query'>>;
  user?: Resolver<Maybe<ResolversTypes['User']>, ParentType, ContextType, RequireFields<QueryUserArgs, 'id'>>;
};

export type ReactionGroupResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ReactionGroup'] = ResolversParentTypes['ReactionGroup']> = {
  count?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  emoji?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  reactedByMe?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  users?: Resolver<Array<ResolversTypes['User']>, ParentType, ContextType, RequireFields<ReactionGroupUsersArgs, 'first'>>;
};

export type ReactionsChangedResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ReactionsChanged'] = ResolversParentTypes['ReactionsChanged']> = {
  actor?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
  chatId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  message?: Resolver<ResolversTypes['Message'], ParentType, ContextType>;
  seq?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type ReadPositionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ReadPosition'] = ResolversParentTypes['ReadPosition']> = {
  cursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  readAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
};

export type ReadStateChangedResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['ReadStateChanged'] = ResolversParentTypes['ReadStateChanged']> = {
  chatId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  seq?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  user?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type SubscriptionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = {
  chatEvents?: SubscriptionResolver<ResolversTypes['ChatEvent'], "chatEvents", ParentType, ContextType, RequireFields<SubscriptionChatEventsArgs, 'chatId'>>;
  messageAdded?: SubscriptionResolver<ResolversTypes['Message'], "messageAdded", ParentType, ContextType, RequireFields<SubscriptionMessageAddedArgs, 'chatId'>>;
  myChats?: SubscriptionResolver<ResolversTypes['ChatListEvent'], "myChats", ParentType, ContextType>;
  presenceChanged?: SubscriptionResolver<ResolversTypes['User'], "presenceChanged", ParentType, ContextType, Partial<SubscriptionPresenceChangedArgs>>;
};

export type TypingChangedResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['TypingChanged'] = ResolversParentTypes['TypingChanged']> = {
  chatId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  seq?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  users?: Resolver<Array<ResolversTypes['User']>, ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
};

export type UploadResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Upload'] = ResolversParentTypes['Upload']> = {
  expiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  maxBytes?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  uploadUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type UserResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['User'] = ResolversParentTypes['User']> = {
  createdAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  email?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  firstName?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  isOnline?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  lastName?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  mobileNo?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  unreadChatsCount?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
  username?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type Resolvers<ContextType = GraphQLContext> = {
  Attachment?: AttachmentResolvers<ContextType>;
  AuthPayload?: AuthPayloadResolvers<ContextType>;
  Chat?: ChatResolvers<ContextType>;
  ChatConnection?: ChatConnectionResolvers<ContextType>;
  ChatEdge?: ChatEdgeResolvers<ContextType>;
  ChatEvent?: ChatEventResolvers<ContextType>;
  ChatListEvent?: ChatListEventResolvers<ContextType>;
  ChatMember?: ChatMemberResolvers<ContextType>;
  ChatMemberConnection?: ChatMemberConnectionResolvers<ContextType>;
  ChatMemberEdge?: ChatMemberEdgeResolvers<ContextType>;
  ChatRenamed?: ChatRenamedResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  MembersChanged?: MembersChangedResolvers<ContextType>;
  Message?: MessageResolvers<ContextType>;
  MessageAdded?: MessageAddedResolvers<ContextType>;
  MessageConnection?: MessageConnectionResolvers<ContextType>;
  MessageDeleted?: MessageDeletedResolvers<ContextType>;
  MessageEdge?: MessageEdgeResolvers<ContextType>;
  MessageEdited?: MessageEditedResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  ReactionGroup?: ReactionGroupResolvers<ContextType>;
  ReactionsChanged?: ReactionsChangedResolvers<ContextType>;
  ReadPosition?: ReadPositionResolvers<ContextType>;
  ReadStateChanged?: ReadStateChangedResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  TypingChanged?: TypingChangedResolvers<ContextType>;
  Upload?: UploadResolvers<ContextType>;
  User?: UserResolvers<ContextType>;
};

