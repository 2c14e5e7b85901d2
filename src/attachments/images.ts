/** An image's dimensions and its thumbnail, with sharp (libvips). */
import pLimit from 'p-limit';
import sharp from 'sharp';

/** The longest side of a thumbnail, in pixels. */
export const THUMBNAIL_MAX_SIDE = 320;
export const THUMBNAIL_TYPE = 'image/webp';
/** Larger images are refused before decoding (decompression bombs). */
const MAX_INPUT_PIXELS = 100_000_000;
/** Images decoded at once: each holds its bytes and pixels in memory. */
const decoding = pLimit(2);

export interface DescribedImage {
  width: number;
  height: number;
  thumbnail: Buffer;
}

/** Dimensions as shown (EXIF orientation applied) and a thumbnail; throws if it does not decode. */
export function describeImage(bytes: Buffer): Promise<DescribedImage> {
  return decoding(async () => {
    const options = { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' } as const;
    const { autoOrient } = await sharp(bytes, options).metadata();
    const thumbnail = await sharp(bytes, options)
      .autoOrient()
      .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
      .webp()
      .toBuffer();
    return { width: autoOrient.width, height: autoOrient.height, thumbnail };
  });
}
