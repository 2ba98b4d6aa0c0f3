#!/usr/bin/env node
import { Writable } from 'node:stream';
import { main } from '../dist/main.js';

// The AWS SDK prints an eight-line notice about future Node.js support whenever an S3 store opens
// under Node 20: nothing a defstate user can act on mid-command. Its own switch turns it off,
// unless the user has set that switch either way.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `defstate status | head` closes the pipe early; that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const code = await main(process.argv);
process.exitCode = code;
// The command is done. A component may have left a timer or a socket open, which would keep the
// process alive for ever: end it, once what it printed has reached the terminal or the pipe. The
// wait goes through the streams' own write: with --json, `process.stdout.write` leads to stderr
// (output/json.ts), and waiting on it would end the process with the document still queued.
await Promise.all(
  [process.stdout, process.stderr].map(
    (stream) =>
      new Promise((resolve) =>
        stream.writableLength === 0
          ? resolve()
          : Writable.prototype.write.call(stream, '', resolve),
      ),
  ),
);
process.exit(code);
