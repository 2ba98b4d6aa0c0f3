import { randomBytes } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import { describe, expect, test } from 'vitest';
import { crc32c, crc32cValidator } from '../src/crc32c.js';

describe('crc32c', () => {
  test('matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  test('gives the SDK validator’s result, however the bytes are split', () => {
    for (const length of [1, 7, 8, 9, 15, 16, 17, 1000, 65_536 + 5]) {
      const bytes = randomBytes(length);
      const reference = new CRC32C();
      reference.update(bytes);
      for (const cut of [0, 1, 3, Math.floor(length / 2), length]) {
        const ours = crc32cValidator();
        ours.update(bytes.subarray(0, cut));
        ours.update(bytes.subarray(cut));
        expect(ours.toString()).toBe(reference.toString());
        expect(ours.validate(reference.toString())).toBe(true);
      }
    }
  });

  test('refuses a checksum of other bytes', () => {
    const bytes = randomBytes(4096);
    const ours = crc32cValidator();
    ours.update(bytes);
    bytes[100] = (bytes[100] as number) ^ 1;
    const other = new CRC32C();
    other.update(bytes);
    expect(ours.validate(other.toString())).toBe(false);
  });
});
