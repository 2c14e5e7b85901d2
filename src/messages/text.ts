import type { MessageDoc } from '../db/documents.js';

/**
 * A message as text alone, for readers that know no attachments (the old clients, chat
 * previews): its content, or when that is empty, `[image]` / `[file] name` per attachment. Never
 * a link.
 */
export function textOf(message: Pick<MessageDoc, 'content' | 'attachments'>): string {
  if (message.content.trim() || !message.attachments?.length) return message.content;
  return message.attachments
    .map((attachment) =>
      attachment.kind === 'image' ? '[image]' : `[file] ${attachment.file_name}`,
    )
    .join(' ');
}
