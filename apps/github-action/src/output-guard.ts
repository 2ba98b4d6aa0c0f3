/**
 * What else this process writes to stdout and stderr (a component's `console.log`, a Node warning)
 * goes through the runner's own `shown` on its way out, so that it is redacted and masked like
 * the action's lines. The runner itself writes through the writers returned here, which bypass
 * the guard: its text is shown already, and its `::add-mask::` commands must reach the runner as
 * they are.
 */
import { StringDecoder } from 'node:string_decoder';

export interface StreamWriters {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

type Callback = (error?: Error | null) => void;

export function guardStreams(shown: (text: string) => string): StreamWriters {
  return {
    stdout: guard(process.stdout, shown),
    stderr: guard(process.stderr, shown),
  };
}

function guard(stream: NodeJS.WriteStream, shown: (text: string) => string) {
  const write = stream.write.bind(stream) as NodeJS.WriteStream['write'];
  // Bytes may end inside a character: the decoder keeps the part until the rest arrives.
  const decoder = new StringDecoder('utf8');
  stream.write = ((
    chunk: string | Uint8Array,
    encoding?: BufferEncoding | Callback,
    callback?: Callback,
  ) => {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof chunk === 'string' && typeof encoding === 'string' && !/^utf-?8$/i.test(encoding)) {
      return write(chunk, encoding, done);
    }
    const text =
      typeof chunk === 'string'
        ? decoder.end() + chunk
        : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    return write(shown(text), 'utf8', done);
  }) as NodeJS.WriteStream['write'];
  return (text: string) => {
    write(text);
  };
}
