/**
 * An error in the `instance-config` input, told against the input itself: the file it was written
 * to is private and temporary, so "line 5 of the input" is what the user can find. Core names the
 * map that holds a mistyped key (`state_storage`); the line given here is the key's own.
 */
import { ConfigError } from '@defstate/core';
import { isMap, LineCounter, parseDocument } from 'yaml';

export function instanceConfigError(error: unknown, file: string, text: string): unknown {
  if (!(error instanceof ConfigError) || error.file !== file) return error;
  const field = error.field;
  const unknownKey = /Unrecognized keys?: "([^"]+)"/.exec(error.message)?.[1];
  const path = [...(field ? field.split('.') : []), ...(unknownKey ? [unknownKey] : [])];
  const line = keyLine(text, path) ?? error.line;
  const place = [
    'input instance-config',
    line ? `line ${line}` : undefined,
    path.length ? `at ${path.join('.')}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  // What core said after its own `file:line at field: ` prefix.
  const said = error.message.startsWith(file)
    ? error.message.slice(error.message.indexOf(': ', file.length) + 2)
    : error.message;
  return new ConfigError(`${place}: ${said}`, {}, { cause: error });
}

/** The line of the deepest key of `path` that the YAML holds. */
function keyLine(text: string, path: readonly string[]): number | undefined {
  const counter = new LineCounter();
  const document = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  let node: unknown = document.contents;
  let offset: number | undefined;
  for (const segment of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => (item.key as { value?: unknown })?.value === segment);
    if (!pair) break;
    offset = (pair.key as { range?: [number] }).range?.[0];
    node = pair.value;
  }
  return offset === undefined ? undefined : counter.linePos(offset).line;
}
