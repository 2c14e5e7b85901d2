/**
 * JSON Schemas of the REST shims: Fastify validates requests and serializes responses with them,
 * and the OpenAPI description at /openapi.json is generated from them — one source of truth.
 */
import { MAX_CHATS_PAGE } from '../chats/service.js';
import { MAX_HISTORY } from '../messages/service.js';
import { MAX_SEARCH_RESULTS } from '../users/service.js';
import { MAX_LENGTH } from '../validation.js';

const string = { type: 'string' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;

/** A string the domain accepts at most `MAX_LENGTH[limit]` characters of. */
const text = (limit: keyof typeof MAX_LENGTH, minLength?: number) => ({
  type: 'string',
  ...(minLength === undefined ? {} : { minLength }),
  maxLength: MAX_LENGTH[limit],
});

const object = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: 'object',
  properties,
  required,
});

export const detailError = object({ detail: string });

export const apiStatus = object({ message: string });

export const registerBody = object({
  first_name: text('name', 1),
  last_name: text('name', 1),
  mobile_no: text('mobileNo', 1),
  email: { ...text('email'), format: 'email' },
  username: text('username', 1),
  password: text('password', 1),
  security_phrase: text('securityPhrase', 1),
});

export const loginBody = object({
  username: text('givenUsername'),
  password: text('password'),
});

const userData = object({
  user_id: string,
  first_name: string,
  last_name: string,
  mobile_no: string,
  email: string,
  username: string,
  created_at: nullableDateTime,
  is_online: { type: 'boolean' },
});

export const tokenResponse = object({
  access_token: string,
  token_type: { type: 'string', enum: ['bearer'] },
  user_data: userData,
});

const userSummary = object({
  user_id: string,
  username: string,
  first_name: string,
  last_name: string,
  is_online: { type: 'boolean' },
});

export const searchQuery = object({ query: text('searchText') });
export const userList = { type: 'array', items: userSummary, maxItems: MAX_SEARCH_RESULTS };

export const chatListResponse = {
  type: 'array',
  maxItems: MAX_CHATS_PAGE,
  items: object({
    chat_id: string,
    other_user: userSummary,
    last_message: nullableString,
    last_message_time: nullableDateTime,
    created_at: dateTime,
  }),
};

export const createChatQuery = object({
  other_user_id: text('id', 1),
});
export const chatResponse = object({
  chat_id: string,
  participants: { type: 'array', items: string },
  created_at: dateTime,
  last_message: nullableString,
  last_message_time: nullableDateTime,
});

export const chatParams = object({ chat_id: text('id') });
export const historyQuery = object(
  {
    limit: { type: 'integer', minimum: 1, maximum: MAX_HISTORY, default: MAX_HISTORY },
    before: { ...text('id'), description: 'a message id: return older messages' },
  },
  [],
);
export const historyResponse = {
  type: 'array',
  items: object({
    message_id: string,
    content: string,
    timestamp: dateTime,
    sender: object({ user_id: string, username: string, first_name: string, last_name: string }),
    is_own_message: { type: 'boolean' },
  }),
};

export const userParams = object({ user_id: text('id') });
export const sendBody = object({
  chat_id: text('id', 1),
  content: text('messageContent', 1),
});
export const sendResponse = object({
  status: { type: 'string', enum: ['success'] },
  message_id: string,
  timestamp: dateTime,
});
