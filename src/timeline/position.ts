/**
 * Positions in a chat's timeline, and the opaque cursors clients hold them in. Numbered events
 * are ordered by their number; messages stored before numbering (by the old server, or by this
 * one before it numbered them) come first, ordered by (timestamp, id).
 */
import { z } from 'zod';
import type { MessageDoc } from '../db/documents.js';
import { decodeCursor, encodeCursor } from '../pagination.js';

/** After the numbered event `seq` (0: after every unnumbered message, before event 1). */
export interface SeqPosition {
  seq: number;
}

/** After an unnumbered message. */
export interface UnnumberedPosition {
  timestamp: Date;
  messageId: string;
}

export type Position = SeqPosition | UnnumberedPosition;

/** Before everything in a chat. */
export const START: UnnumberedPosition = { timestamp: new Date(-8.64e15), messageId: '' };

export const isNumbered = (position: Position): position is SeqPosition => 'seq' in position;

export const positionOf = (message: Pick<MessageDoc, 'seq' | 'timestamp' | 'message_id'>) =>
  message.seq === undefined
    ? { timestamp: message.timestamp, messageId: message.message_id }
    : { seq: message.seq };

/** Cursors: `[seq]` for numbered positions, `[time, id]` as before numbering (still accepted). */
const cursorValue = z.union([
  z.tuple([z.number().int().nonnegative()]),
  z.tuple([z.number().int(), z.string()]),
]);

export function encodePosition(position: Position): string {
  return encodeCursor(
    isNumbered(position) ? [position.seq] : [position.timestamp.getTime(), position.messageId],
  );
}

/** The position a client's cursor names; BAD_USER_INPUT naming `field` if it is not one. */
export function decodePosition(cursor: string, field: string): Position {
  const value = decodeCursor(cursorValue, cursor, field);
  return value.length === 1
    ? { seq: value[0] }
    : { timestamp: new Date(value[0]), messageId: value[1] };
}

export const cursorOf = (message: Pick<MessageDoc, 'seq' | 'timestamp' | 'message_id'>) =>
  encodePosition(positionOf(message));
