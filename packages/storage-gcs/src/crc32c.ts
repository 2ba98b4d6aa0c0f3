/**
 * The CRC32C the SDK checks every download against (the object's `x-goog-hash`), computed eight
 * bytes at a time (“slicing-by-8”) instead of the SDK's one byte at a time.
 *
 * Why: the SDK's default validator is a byte-wise table loop in JavaScript, and on a download it
 * is the bottleneck: profiled on a 512 MiB read from fake-gcs-server, it took about 60 % of the
 * client's CPU and capped the download near 80 MB/s. This one computes the same checksum, with
 * the same result format, several times faster, so the check stays on and costs less.
 * No dependency: Node has a CRC32 (zlib.crc32), but not the Castagnoli polynomial GCS uses.
 */
import type { CRC32CValidator, CRC32CValidatorGenerator } from '@google-cloud/storage';

/** The reflected Castagnoli polynomial. */
const POLYNOMIAL = 0x82f63b78;

/** TABLE[k * 256 + b]: the CRC of byte b followed by k zero bytes, for k < 8. */
const TABLE = (() => {
  const table = new Int32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1;
    table[byte] = crc;
  }
  for (let index = 256; index < table.length; index++) {
    const previous = table[index - 256] as number;
    table[index] = (previous >>> 8) ^ (table[previous & 0xff] as number);
  }
  return table;
})();

/** Extends `crc` (a finished CRC32C, 0 for none) over `data`. */
export function crc32c(data: Uint8Array, crc = 0): number {
  const t = TABLE;
  let current = ~crc;
  const length = data.length;
  let i = 0;
  for (const end = length - (length % 8); i < end; i += 8) {
    const low =
      current ^
      ((data[i] as number) |
        ((data[i + 1] as number) << 8) |
        ((data[i + 2] as number) << 16) |
        ((data[i + 3] as number) << 24));
    current =
      (t[1792 + (low & 0xff)] as number) ^
      (t[1536 + ((low >>> 8) & 0xff)] as number) ^
      (t[1280 + ((low >>> 16) & 0xff)] as number) ^
      (t[1024 + (low >>> 24)] as number) ^
      (t[768 + (data[i + 4] as number)] as number) ^
      (t[512 + (data[i + 5] as number)] as number) ^
      (t[256 + (data[i + 6] as number)] as number) ^
      (t[data[i + 7] as number] as number);
  }
  for (; i < length; i++) {
    current = (t[(current ^ (data[i] as number)) & 0xff] as number) ^ (current >>> 8);
  }
  return ~current >>> 0;
}

class Crc32cValidator implements CRC32CValidator {
  #crc = 0;

  update(data: Buffer): void {
    this.#crc = crc32c(data, this.#crc);
  }

  /** The checksum as GCS writes it: the four bytes, big-endian, in base64. */
  toString(): string {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(this.#crc);
    return bytes.toString('base64');
  }

  toJSON(): string {
    return this.toString();
  }

  validate(value: string): boolean {
    return value === this.toString();
  }
}

export const crc32cValidator: CRC32CValidatorGenerator = () => new Crc32cValidator();
