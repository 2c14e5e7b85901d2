/**
 * Bus payloads as JSON for Redis. Dates (a message's timestamp) are tagged on the way out and
 * revived on the way in, so a subscriber sees the same types as with the in-process bus. Tagging,
 * not pattern matching: a message whose content looks like a date stays a string.
 */
const DATE_TAG = '$date';

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // JSON.stringify hands over a Date already as its toJSON() string; the holder still has it.
  const original = this[key];
  return original instanceof Date ? { [DATE_TAG]: original.toISOString() } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const tagged = (value as Record<string, unknown>)[DATE_TAG];
    if (typeof tagged === 'string' && Object.keys(value).length === 1) return new Date(tagged);
  }
  return value;
}

/** A message goes out on its chat's topic and each participant's inbox: encoded once for all. */
const encoded = new WeakMap<object, string>();

export const eventCodec = {
  stringify(payload: unknown): string {
    if (!payload || typeof payload !== 'object') return JSON.stringify(payload, replacer);
    let text = encoded.get(payload);
    if (text === undefined) {
      text = JSON.stringify(payload, replacer);
      encoded.set(payload, text);
    }
    return text;
  },
  parse: (text: string): unknown => JSON.parse(text, reviver),
};
