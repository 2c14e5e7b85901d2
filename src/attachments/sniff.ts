/**
 * What an upload's first bytes say it is. Only the image types browsers show safely are
 * recognised: they are thumbnailed and served inline; everything else is a file, served as a
 * download.
 */

/** Image types served inline (SVG is not among them: it can carry script). */
export const INLINE_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type InlineImageType = (typeof INLINE_IMAGE_TYPES)[number];

export const isInlineImageType = (type: string): type is InlineImageType =>
  (INLINE_IMAGE_TYPES as readonly string[]).includes(type);

/** How many leading bytes `sniffImageType` needs. */
export const SNIFF_BYTES = 12;

const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));

/** Magic bytes of each type: byte values at offsets, all of which must match. */
const SIGNATURES: { type: InlineImageType; at: number; bytes: number[] }[][] = [
  [{ type: 'image/png', at: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] }],
  [{ type: 'image/jpeg', at: 0, bytes: [0xff, 0xd8, 0xff] }],
  [{ type: 'image/gif', at: 0, bytes: ascii('GIF87a') }],
  [{ type: 'image/gif', at: 0, bytes: ascii('GIF89a') }],
  [
    { type: 'image/webp', at: 0, bytes: ascii('RIFF') },
    { type: 'image/webp', at: 8, bytes: ascii('WEBP') },
  ],
];

/** The inline image type `head` (an upload's first bytes) starts like, or null. */
export function sniffImageType(head: Uint8Array): InlineImageType | null {
  const matches = SIGNATURES.find((parts) =>
    parts.every(({ at, bytes }) => bytes.every((byte, index) => head[at + index] === byte)),
  );
  return matches?.[0]?.type ?? null;
}
