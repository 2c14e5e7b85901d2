/**
 * JSON Schemas of the REST shims: Fastify validates requests and serializes responses with them,
 * and the OpenAPI description at /openapi.json is generated from them — one source of truth.
 */
import { MAX_SEARCH_RESULTS } from '../users/service.js';

const string = { type: 'string' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;

const object = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: 'object',
  properties,
  required,
});

export const detailError = object({ detail: string });

export const apiStatus = object({ message: string });

export const registerBody = object({
  first_name: { type: 'string', minLength: 1, maxLength: 100 },
  last_name: { type: 'string', minLength: 1, maxLength: 100 },
  mobile_no: { type: 'string', minLength: 1, maxLength: 32 },
  email: { type: 'string', format: 'email', maxLength: 254 },
  username: { type: 'string', minLength: 1, maxLength: 50 },
  password: { type: 'string', minLength: 1, maxLength: 256 },
  security_phrase: { type: 'string', minLength: 1, maxLength: 200 },
});

export const loginBody = object({
  username: { type: 'string', maxLength: 100 },
  password: { type: 'string', maxLength: 256 },
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

export const searchQuery = object({ query: { type: 'string', maxLength: 100 } });
export const userList = { type: 'array', items: userSummary, maxItems: MAX_SEARCH_RESULTS };

export const chatListResponse = {
  type: 'array',
  maxItems: 100,
  items: object({
    chat_id: string,
    other_user: userSummary,
    last_message: nullableString,
    last_message_time: nullableDateTime,
    created_at: dateTime,
  }),
};

export const createChatQuery = object({
  other_user_id: { type: 'string', minLength: 1, maxLength: 100 },
});
export const chatResponse = object({
  chat_id: string,
  participants: { type: 'array', items: string },
  created_at: dateTime,
  last_message: nullableString,
  last_message_time: nullableDateTime,
});

export const chatParams = object({ chat_id: { type: 'string', maxLength: 100 } });
export const historyQuery = object(
  {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 1000 },
    before: { type: 'string', maxLength: 100, description: 'a message id: return older messages' },
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

export const userParams = object({ user_id: { type: 'string', maxLength: 100 } });
export const sendBody = object({
  chat_id: { type: 'string', minLength: 1, maxLength: 100 },
  content: { type: 'string', minLength: 1, maxLength: 4000 },
});
export const sendResponse = object({
  status: { type: 'string', enum: ['success'] },
  message_id: string,
  timestamp: dateTime,
});
