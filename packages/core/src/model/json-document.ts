import type { z } from 'zod';
import { StorageError } from '../errors.js';

export interface JsonDocumentOptions {
  /** How messages name the document: `The pin file /app/.local_defs_state/.pins.json`. */
  name: string;
  /** What a schema failure says before the field: `is not valid`, `does not match schema version 1`. */
  mismatch: string;
  /** What to do about a document that is not valid JSON. */
  badJsonHint: string;
  /** What to do about one that does not match the schema. */
  mismatchHint: string;
  /**
   * A check by hand (document-checks.ts), for documents read by the thousand or at start-up: when
   * it says yes, the parsed JSON is returned as it is and the schema does not run. It must never
   * say yes where the schema fails or would change the value.
   */
  isValid?: (json: unknown) => boolean;
}

/**
 * A schema, or how to import it: a reader with a check by hand names its schema lazily, so that
 * zod is imported only to say what is wrong with a damaged document.
 */
export type SchemaSource<Schema extends z.ZodType> = Schema | (() => Promise<Schema>);

/** Parses a JSON document written by defstate; damage is a `StorageError` naming it and the field. */
export async function parseJsonDocument<Schema extends z.ZodType>(
  text: string,
  schema: SchemaSource<Schema>,
  options: JsonDocumentOptions,
): Promise<z.infer<Schema>> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StorageError(`${options.name} is not valid JSON.`, {
      cause: error,
      hint: options.badJsonHint,
    });
  }
  if (options.isValid?.(json)) return json as z.infer<Schema>;
  const result = (typeof schema === 'function' ? await schema() : schema).safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new StorageError(
      `${options.name} ${options.mismatch}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}.`,
      { cause: result.error, hint: options.mismatchHint },
    );
  }
  return result.data;
}
