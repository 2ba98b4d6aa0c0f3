import { unredactedWriter } from './guard.js';
import { redactDocument } from './redact.js';

/**
 * With `--json`, stdout carries the JSON document and nothing else. A project config or a
 * component that prints (`console.log`, `process.stdout.write`) would corrupt it, so for the rest
 * of the command everything written to stdout goes to stderr instead, and the document is
 * written through the real stdout.
 */
let realWrite: ((text: string) => void) | undefined;

export function reserveStdoutForJson(): void {
  if (realWrite) return;
  realWrite = unredactedWriter(process.stdout);
  const toStderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((...args: Parameters<typeof process.stderr.write>) =>
    toStderr(...args)) as typeof process.stdout.write;
}

/**
 * Writes the command's JSON document to stdout with every string in it redacted. It bypasses the
 * output guard, which works on text and could not be sure to keep it JSON.
 */
export function printJson(document: unknown): void {
  const write = realWrite ?? unredactedWriter(process.stdout);
  write(`${JSON.stringify(redactDocument(document), null, 2)}\n`);
}
