import { crc32 } from 'node:zlib';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, test, vi } from 'vitest';
import { PART_SIZE, S3StoreOptionsSchema, s3OptionsFromUrl } from '../src/index.js';
import { crc32Checksum } from '../src/part-upload.js';
import { bytes, EMULATOR_ENV, openTestStore, rawClient, uniquePrefix } from './helpers.js';

const endpoint = inject('s3Endpoint');
const bucket = inject('s3Bucket');
const client = rawClient(endpoint);
beforeAll(() => {
  for (const [name, value] of Object.entries(EMULATOR_ENV)) vi.stubEnv(name, value);
  vi.stubEnv('AWS_PROFILE', undefined);
});
afterAll(() => client.destroy());

/** The CRC32 S3 keeps for an object, as HeadObject reports it with checksums asked for. */
async function storedChecksum(key: string): Promise<string | undefined> {
  const head = await client.send(
    new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
  );
  return head.ChecksumCRC32;
}

const base64Crc32 = (data: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data));
  return out.toString('base64');
};

describe('upload checksums', () => {
  test('are CRC32s as S3 takes them: four big-endian bytes in base64', () => {
    // The standard check value of CRC-32: 0xCBF43926.
    expect(crc32Checksum(Buffer.from('123456789'))).toBe(
      Buffer.from([0xcb, 0xf4, 0x39, 0x26]).toString('base64'),
    );
  });

  test('are on against AWS itself, off against another endpoint, and a URL can say either', () => {
    expect(S3StoreOptionsSchema.parse({ bucket: 'my-state' }).checksums).toBe('crc32');
    expect(
      S3StoreOptionsSchema.parse({ bucket: 'my-state', endpoint: 'http://127.0.0.1:9000' })
        .checksums,
    ).toBe('off');
    expect(
      S3StoreOptionsSchema.parse({
        bucket: 'my-state',
        endpoint: 'http://127.0.0.1:9000',
        checksums: 'crc32',
      }).checksums,
    ).toBe('crc32');
    expect(
      S3StoreOptionsSchema.parse(
        s3OptionsFromUrl(new URL('s3://my-state/p?endpoint=http://127.0.0.1:9000&checksums=crc32')),
      ).checksums,
    ).toBe('crc32');
    const wrong = S3StoreOptionsSchema.safeParse({ bucket: 'my-state', checksums: 'md5' });
    expect(wrong.error?.issues[0]?.path).toEqual(['checksums']);
    expect(wrong.error?.issues[0]?.message).toContain('crc32');
  });

  test('with crc32, every part of a multipart upload is checked by the store', async () => {
    const prefix = uniquePrefix('checksums');
    const store = await openTestStore({ endpoint, bucket, prefix, checksums: 'crc32' });
    try {
      // Two and a half parts, of unknown length: the multipart path.
      const size = PART_SIZE * 2 + 1024;
      await store.put('big', bytes(size, 7));
      const whole = Buffer.alloc(size, 7);
      const parts = [0, PART_SIZE, PART_SIZE * 2].map((start) =>
        whole.subarray(start, Math.min(size, start + PART_SIZE)),
      );
      // S3's checksum of a multipart object: the CRC32 of the parts' CRC32s, then `-3` (the count
      // of parts), which moto leaves out.
      const composite = Buffer.concat(
        parts.map((part) => Buffer.from(base64Crc32(part), 'base64')),
      );
      const stored = await storedChecksum(`${prefix}/big`);
      expect(stored?.replace(/-3$/, '')).toBe(base64Crc32(composite));

      await store.put('small', Buffer.from('a small state'));
      expect(await storedChecksum(`${prefix}/small`)).toBe(
        base64Crc32(Buffer.from('a small state')),
      );
    } finally {
      await store.close?.();
    }
  });

  test('off, no checksum is declared', async () => {
    const prefix = uniquePrefix('checksums');
    const store = await openTestStore({ endpoint, bucket, prefix, checksums: 'off' });
    try {
      await store.put('big', bytes(PART_SIZE + 1024, 7));
      expect(await storedChecksum(`${prefix}/big`)).toBeUndefined();
    } finally {
      await store.close?.();
    }
  });
});
