import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { stateJsonSchemas } from '../src/index.js';

const schemaDir = new URL('../schema/', import.meta.url);
const regenerate =
  'The checked-in JSON Schemas differ from the zod schemas: run `pnpm --filter @defstate/core build && pnpm --filter @defstate/core schema` and commit schema/.';

describe('checked-in JSON Schemas', () => {
  it('are exactly the files stateJsonSchemas() generates', async () => {
    const generated = stateJsonSchemas();
    const onDisk = (await readdir(schemaDir)).filter((file) => file.endsWith('.json')).sort();
    expect(onDisk, regenerate).toEqual(Object.keys(generated).sort());
    for (const [file, schema] of Object.entries(generated)) {
      const text = await readFile(new URL(file, schemaDir), 'utf8');
      // Byte for byte, as scripts/write-schema.mjs writes them.
      expect(text, `${file}: ${regenerate}`).toBe(`${JSON.stringify(schema, null, 2)}\n`);
    }
  });

  it('describe the fields a status page reads', () => {
    const schema = stateJsonSchemas()['state-info.schema.json'] as {
      required: string[];
      additionalProperties: boolean;
    };
    expect(schema.required).toEqual([
      'key',
      'management',
      'version',
      'createdAt',
      'sha256',
      'size',
    ]);
    expect(schema.additionalProperties).toBe(false);
  });
});
