import { StringDecoder } from 'node:string_decoder';
import { hideSecretsOf, redactText } from './redact.js';

/**
 * Everything this process writes to stdout and stderr is redacted on its way out: defstate's own
 * lines, commander's, a component's `console.log`, a stack trace. One place, so that no message
 * added later can forget it. Only what must reach the user whole bypasses it, through
 * `writeUnredacted`: a JSON document, redacted value by value so that it stays JSON, and the
 * `defstate ui` address, whose token is this run's own.
 */
type Write = (text: string, callback?: (error?: Error | null) => void) => boolean;

const originals = new Map<NodeJS.WriteStream, Write>();

/**
 * Guards stdout and stderr, hiding also the secrets of this process's environment and of the
 * `--storage` URL wherever they appear. Calling it again only adds secrets.
 */
export function protectOutput(storageUrl?: string): void {
  hideSecretsOf(process.env, storageUrl);
  guardOutput([process.stdout, process.stderr]);
}

export function guardOutput(streams: readonly NodeJS.WriteStream[]): void {
  for (const stream of streams) {
    if (originals.has(stream)) continue;
    const write = stream.write.bind(stream) as NodeJS.WriteStream['write'];
    originals.set(stream, (text, callback) => write(text, callback));
    // Bytes (a child's output piped through) may end inside a character: the decoder keeps the
    // part until the rest arrives.
    const decoder = new StringDecoder('utf8');
    stream.write = ((
      chunk: string | Uint8Array,
      encoding?: BufferEncoding | ((error?: Error | null) => void),
      callback?: (error?: Error | null) => void,
    ) => {
      const done = typeof encoding === 'function' ? encoding : callback;
      let text: string;
      if (typeof chunk === 'string') {
        if (typeof encoding === 'string' && !/^utf-?8$/i.test(encoding)) {
          return write(chunk, encoding, done);
        }
        text = decoder.end() + chunk;
      } else {
        text = decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      }
      return write(redactText(text), 'utf8', done);
    }) as NodeJS.WriteStream['write'];
  }
}

/**
 * A function that writes to `stream` as it is now, unredacted: only for text that was redacted
 * already or holds no one's secret.
 */
export function unredactedWriter(stream: NodeJS.WriteStream): (text: string) => void {
  const write = originals.get(stream) ?? stream.write.bind(stream);
  return (text) => {
    write(text);
  };
}
