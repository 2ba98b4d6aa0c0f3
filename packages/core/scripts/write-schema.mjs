// Writes schema/*.json from the built zod schemas: `pnpm --filter @defstate/core schema`.
import { writeFile } from 'node:fs/promises';
import { stateJsonSchemas } from '../dist/index.js';

for (const [file, schema] of Object.entries(stateJsonSchemas())) {
  await writeFile(
    new URL(`../schema/${file}`, import.meta.url),
    `${JSON.stringify(schema, null, 2)}\n`,
  );
  console.log(`wrote schema/${file}`);
}
