import { describe, expect, it } from 'vitest';
import { guardOutput, unredactedWriter } from '../src/output/guard.js';
import { hideSecrets, redactDocument, redactText } from '../src/output/redact.js';

// The redaction every output of the CLI passes through; secrets.e2e.test.ts checks the built CLI.

/** A stream that keeps what reaches it, as the terminal would show it. */
function fakeStream() {
  const written: string[] = [];
  const stream = {
    write(chunk: string | Uint8Array, ...rest: unknown[]) {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    },
  };
  return { stream: stream as unknown as NodeJS.WriteStream, written };
}

describe('the output guard', () => {
  it('redacts strings and bytes written to the stream, and calls back', () => {
    const { stream, written } = fakeStream();
    guardOutput([stream]);
    let called = false;
    stream.write('GET https://svc:pw@host/x?sig=abc failed\n', () => {
      called = true;
    });
    stream.write(Buffer.from('conn AccountKey=c2VjcmV0;\n'));
    expect(written.join('')).toBe(
      'GET https://REDACTED@host/x?sig=REDACTED failed\nconn AccountKey=REDACTED;\n',
    );
    expect(called).toBe(true);
  });

  it('keeps a character split between two chunks whole', () => {
    const { stream, written } = fakeStream();
    guardOutput([stream]);
    const bytes = Buffer.from('état ✓\n');
    stream.write(bytes.subarray(0, 7));
    stream.write(bytes.subarray(7));
    expect(written.join('')).toBe('état ✓\n');
  });

  it('lets through, unchanged, what is written on purpose unredacted', () => {
    const { stream, written } = fakeStream();
    guardOutput([stream]);
    unredactedWriter(stream)('http://127.0.0.1:4777/?token=ours\n');
    stream.write('http://127.0.0.1:4777/?token=ours\n');
    expect(written).toEqual([
      'http://127.0.0.1:4777/?token=ours\n',
      'http://127.0.0.1:4777/?token=REDACTED\n',
    ]);
  });
});

describe('redactText and redactDocument', () => {
  it('hide a known secret wherever it appears, even alone', () => {
    hideSecrets(['Zq8sJ2vN5xT1mK9p']);
    expect(redactText('the SDK said: bad key Zq8sJ2vN5xT1mK9p.')).toBe(
      'the SDK said: bad key REDACTED.',
    );
  });

  it('redact every string of a document, and nothing else', () => {
    const document = {
      schemaVersion: 1,
      ok: false,
      'https://u:p@host/': null,
      results: [{ key: 'a', size: 3, error: { message: 'at s3://AKIA:secret@b/p?token=t0k' } }],
    };
    expect(redactDocument(document)).toEqual({
      schemaVersion: 1,
      ok: false,
      'https://u:p@host/': null,
      results: [{ key: 'a', size: 3, error: { message: 'at s3://REDACTED@b/p?token=REDACTED' } }],
    });
  });

  it('copy only what they change, and redact a document again once a secret is added', () => {
    const clean = { keys: [{ key: 'a', version: 'v1' }], store: 'file:///tmp/store' };
    expect(redactDocument(clean)).toBe(clean);
    const leaky = { keys: [{ key: 'a' }, { key: 'b', error: 's3://u:pw@bucket/' }], ok: true };
    const redacted = redactDocument(leaky);
    expect(redacted).not.toBe(leaky);
    expect(redacted.keys[0]).toBe(leaky.keys[0]);
    expect(redacted.keys[1]).toEqual({ key: 'b', error: 's3://REDACTED@bucket/' });
    expect(leaky.keys[1]?.error).toBe('s3://u:pw@bucket/');
    // Redacted once, a document is not walked again, until there is a new secret to hide.
    const once = redactDocument({ message: 'token Wq7fLk29XbPz0' });
    expect(redactDocument(once)).toEqual({ message: 'token Wq7fLk29XbPz0' });
    hideSecrets(['Wq7fLk29XbPz0']);
    expect(redactDocument(once)).toEqual({ message: 'token REDACTED' });
  });

  it('keeps a property named __proto__ as data, redacted, never as the prototype', () => {
    const document = JSON.parse('{"__proto__": {"polluted": "s3://u:secret@b/"}, "ok": true}');
    const redacted = redactDocument(document);
    expect(Object.getPrototypeOf(redacted)).toBe(Object.prototype);
    expect(JSON.stringify(redacted)).toBe(
      '{"__proto__":{"polluted":"s3://REDACTED@b/"},"ok":true}',
    );
    expect((redacted as { polluted?: string }).polluted).toBeUndefined();
  });
});
