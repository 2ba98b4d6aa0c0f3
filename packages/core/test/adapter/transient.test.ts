import { describe, expect, test } from 'vitest';
import {
  causeChain,
  httpStatusOf,
  isCredentialProviderTimeout,
  systemCodeOf,
  transientReason,
} from '../../src/adapter/index.js';
import { AccessDeniedError, TransientError } from '../../src/index.js';

const wrap = (inner: unknown, outer = new Error('outer')) => Object.assign(outer, { cause: inner });

describe('transientReason', () => {
  test.each<[string, unknown, string | undefined]>([
    [
      'a reset, wrapped twice',
      wrap(wrap(Object.assign(new Error('x'), { code: 'ECONNRESET' }))),
      'ECONNRESET',
    ],
    [
      'undici socket error',
      wrap(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })),
      'UND_ERR_SOCKET',
    ],
    [
      'premature close',
      Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }),
      'connection closed early',
    ],
    ['AWS 503', { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }, 'HTTP 503'],
    ['429 status', { status: 429 }, 'HTTP 429'],
    ['408 statusCode', { statusCode: 408 }, 'HTTP 408'],
    ['GCS numeric code 502', { code: 502, message: 'Bad gateway' }, 'HTTP 502'],
    ['gaxios response status', { response: { status: 500 } }, 'HTTP 500'],
    [
      'smithy TimeoutError',
      Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }),
      'timed out',
    ],
    [
      'node-fetch timeout',
      Object.assign(new Error('network timeout at: x'), {
        name: 'FetchError',
        type: 'request-timeout',
      }),
      'timed out',
    ],
    ['core TransientError', new TransientError('x'), 'TRANSIENT'],
    [
      'IMDS timeout',
      Object.assign(new Error('TimeoutError from instance metadata service'), {
        name: 'ProviderError',
      }),
      'credential provider timed out',
    ],
    ['a 404', { $metadata: { httpStatusCode: 404 } }, undefined],
    ['a 403', { statusCode: 403 }, undefined],
    ['a refusal, typed', new AccessDeniedError('no'), undefined],
    [
      'no credentials at all',
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
      undefined,
    ],
    ['a string', 'boom', undefined],
    ['nothing', undefined, undefined],
  ])('%s', (_label, error, expected) => {
    expect(transientReason(error)).toBe(expected);
  });

  test('a typed error in the chain decides, before any code below it', () => {
    const error = new AccessDeniedError('no', {
      cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }),
    });
    expect(transientReason(error)).toBeUndefined();
  });
});

describe('credential provider time-outs', () => {
  test.each([
    [
      'AWS IMDS',
      Object.assign(new Error('TimeoutError from instance metadata service'), {
        name: 'ProviderError',
      }),
    ],
    [
      'Azure managed identity',
      Object.assign(new Error('ManagedIdentityCredential: Network timeout'), {
        name: 'CredentialUnavailableError',
      }),
    ],
    [
      'Google metadata server',
      wrap(
        Object.assign(
          new Error(
            'network timeout at: http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token',
          ),
          { name: 'FetchError', type: 'request-timeout' },
        ),
      ),
    ],
  ])('%s', (_label, error) => {
    expect(isCredentialProviderTimeout(error)).toBe(true);
  });

  test('a refusal by the provider is not a time-out', () => {
    expect(
      isCredentialProviderTimeout(
        Object.assign(new Error('Unable to connect to instance metadata service'), {
          name: 'ProviderError',
        }),
      ),
    ).toBe(false);
  });
});

describe('cause chain', () => {
  test('walks cause and error links and stops on a loop', () => {
    const a: { cause?: unknown } & Error = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect([...causeChain(b)]).toEqual([b, a]);
    const gaxiosLike = {
      message: 'outer',
      error: Object.assign(new Error('in'), { code: 'EPIPE' }),
    };
    expect(systemCodeOf(gaxiosLike)).toBe('EPIPE');
    expect(httpStatusOf({ cause: { $metadata: { httpStatusCode: 412 } } })).toBe(412);
  });
});
