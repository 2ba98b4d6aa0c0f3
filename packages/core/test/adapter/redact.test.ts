import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { redactSecrets, redactUrl } from '../../src/adapter/index.js';
import * as core from '../../src/index.js';

describe('redactUrl', () => {
  test('removes userinfo and credential query parameters, even from a URL no parser accepts', () => {
    const url =
      's3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCY@bad bucket/p?x-amz-security-token=FQoGZXIvYXdzEXAMPLE&region=eu-west-1';
    const redacted = redactUrl(url);
    expect(redacted).toBe(
      's3://REDACTED@bad bucket/p?x-amz-security-token=REDACTED&region=eu-west-1',
    );
  });

  test('keeps what is not a secret: bucket, path, region, endpoint, key file path', () => {
    const url =
      'gs://bucket/team/app?apiEndpoint=http://127.0.0.1:4443&keyFilename=/etc/key.json&projectId=p';
    expect(redactUrl(url)).toBe(url);
  });

  test('redacts an Azure SAS signature but not its other fields', () => {
    expect(
      redactUrl(
        'https://acct.blob.core.windows.net/c?sv=2024-05-04&se=2030-01-01&sp=rwdl&sig=abc%2Bdef%3D',
      ),
    ).toBe('https://acct.blob.core.windows.net/c?sv=2024-05-04&se=2030-01-01&sp=rwdl&sig=REDACTED');
  });

  test.each([
    ['X-Amz-Signature', 'X-Amz-Signature=REDACTED'],
    ['X-Amz-Credential', 'X-Amz-Credential=REDACTED'],
    ['X-Goog-Signature', 'X-Goog-Signature=REDACTED'],
    ['access_token', 'access_token=REDACTED'],
    ['apiKey', 'apiKey=REDACTED'],
    ['password', 'password=REDACTED'],
    ['sasToken', 'sasToken=REDACTED'],
    ['connectionString', 'connectionString=REDACTED'],
  ])('redacts the %s parameter', (name, expected) => {
    expect(redactUrl(`s3://b/p?region=x&${name}=s3cr3tvalue`)).toBe(
      `s3://b/p?region=x&${expected}`,
    );
  });
});

describe('redactSecrets', () => {
  test('redacts every URL, connection string key and Authorization header in free text', () => {
    const text = [
      '"https://user:hunter2hunter2@example.com/x" is not a storage URL',
      'connection string DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0a2V5PT0=;EndpointSuffix=core.windows.net',
      'headers: { Authorization: "Bearer ya29.a0AfH6SMBsecretsecret" }',
      'sas ?sv=2024&sig=SIGNATURE123',
    ].join('\n');
    const redacted = redactSecrets(text);
    for (const secret of [
      'hunter2hunter2',
      'c2VjcmV0a2V5PT0=',
      'ya29.a0AfH6SMBsecretsecret',
      'SIGNATURE123',
    ]) {
      expect(redacted).not.toContain(secret);
    }
    expect(redacted).toContain('AccountName=a;AccountKey=REDACTED;EndpointSuffix=core.windows.net');
    expect(redacted).toContain('is not a storage URL');
  });

  test('never lets a planted secret through, wherever in a URL it sits', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9+/=]{12,40}$/);
    const host = fc.stringMatching(/^[a-z0-9 .-]{0,20}$/);
    fc.assert(
      fc.property(
        fc.constantFrom('s3', 'gs', 'azblob', 'https', 'file'),
        host,
        secret,
        secret,
        fc.constantFrom('x-amz-security-token', 'sig', 'X-Goog-Signature', 'token', 'AccountKey'),
        (scheme, bucket, password, token, parameter) => {
          const url = `${scheme}://AKIAEXAMPLE:${password}@${bucket}/p?region=x&${parameter}=${token}`;
          const redacted = redactSecrets(`error: "${url}" is wrong`);
          expect(redacted).not.toContain(password);
          expect(redacted).not.toContain(token);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('is exported from the main entry point too', () => {
    expect(core.redactUrl).toBe(redactUrl);
    expect(core.redactSecrets).toBe(redactSecrets);
  });
});
