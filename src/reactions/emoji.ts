/**
 * A reaction's emoji: exactly one grapheme (Intl.Segmenter) that is an emoji as Unicode lists
 * them (`\p{RGI_Emoji}`: single emoji, skin tones, flags, keycaps, ZWJ sequences). Nothing else
 * gets through — no text, no `$` or `.` — so what is stored (in an `_id`, never as a key) is an
 * emoji. An emoji sent without its emoji presentation selector (❤ for ❤️) is stored in its
 * fully qualified form, so both are one reaction.
 */
import { z } from 'zod';

// Built at run time: the `v` flag is newer than the compile target (Node 20 has it).
const RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
/** Longer than any emoji sequence Unicode lists (a family with skin tones is 11 code points). */
const MAX_EMOJI_LENGTH = 32;
const PRESENTATION_SELECTOR = '\uFE0F';

function qualified(text: string): string | null {
  if (text.length > MAX_EMOJI_LENGTH || [...graphemes.segment(text)].length !== 1) return null;
  if (RGI_EMOJI.test(text)) return text;
  const withSelector = text + PRESENTATION_SELECTOR;
  return RGI_EMOJI.test(withSelector) ? withSelector : null;
}

export const emoji = z.string().transform((text, context) => {
  const found = qualified(text);
  if (found === null) {
    context.addIssue({ code: 'custom', message: 'must be a single emoji' });
    return z.NEVER;
  }
  return found;
});
