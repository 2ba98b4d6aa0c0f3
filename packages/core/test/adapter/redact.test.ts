import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { redactSecrets as fromToolkit } from '../../src/adapter/index.js';
import {
  environmentSecrets,
  findSecrets,
  REDACTED,
  redactSecrets,
  redactUrl,
} from '../../src/adapter/redact.js';
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

  test('a backslash in a value never hides the delimiter after it, nor the parameter beyond', () => {
    const secret = 'S3cr3tPlantedValue';
    for (const delimiter of ['?', '&', ';', '#']) {
      const url = `file:///?(=\\${delimiter}x-amz-security-token=${secret}`;
      expect(redactUrl(url)).not.toContain(secret);
      expect(redactSecrets(`at X: "${url}": wrong`)).not.toContain(secret);
    }
  });

  test('redacts credentials written as name: value, in headers, JSON and YAML', () => {
    expect(redactSecrets('X-Amz-Security-Token: FQoGZXIvYXdzEJr\nHost: b.s3')).toBe(
      'X-Amz-Security-Token: REDACTED\nHost: b.s3',
    );
    const json = JSON.stringify({
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7',
    });
    expect(redactSecrets(json)).toBe(
      JSON.stringify({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'REDACTED' }),
    );
    const nested = JSON.stringify({ message: JSON.stringify({ sessionToken: 'FQoGZXIvYXdz' }) });
    expect(JSON.parse(JSON.parse(redactSecrets(nested)).message)).toEqual({
      sessionToken: 'REDACTED',
    });
    expect(redactSecrets('password: hunter2hunter2\nuser: ops')).toBe(
      'password: REDACTED\nuser: ops',
    );
    // What messages say stays as it is.
    expect(redactSecrets('at components.0.key: a state key must not be empty')).toBe(
      'at components.0.key: a state key must not be empty',
    );
    expect(redactSecrets('code: ENOENT, at 10:30, token: …')).toBe(
      'code: ENOENT, at 10:30, token: …',
    );
  });

  test('JSON documents keep their shape, and a credential field loses its value', () => {
    const secret = 'Pl4ntedS3cretValue';
    const name = fc.constantFrom(
      'token',
      'secretAccessKey',
      'sessionToken',
      'password',
      'x-amz-security-token',
      'sig',
      'Authorization',
      'key',
      'code',
      'region',
    );
    const junk = fc.stringMatching(/^[A-Za-z0-9 "\\\n;&=?:@/{},[\]']{0,20}$/);
    const value = fc.oneof(
      junk,
      fc.constant(secret),
      junk.map((text) => `${text}${secret}`),
    );
    const document = fc.dictionary(
      name,
      fc.oneof(value, fc.dictionary(name, value, { maxKeys: 3 })),
      { maxKeys: 4 },
    );
    const credential = /token|secret|password|sig/i;
    const check = (before: Record<string, unknown>, after: Record<string, unknown>) => {
      for (const [field, original] of Object.entries(before)) {
        if (original && typeof original === 'object') {
          check(original as Record<string, unknown>, after[field] as Record<string, unknown>);
        } else if (original === secret && credential.test(field)) {
          expect(after[field]).toBe(REDACTED);
        }
      }
    };
    fc.assert(
      fc.property(document, fc.boolean(), (fields, inString) => {
        const json = JSON.stringify(fields, null, 2);
        // Also as the text of a JSON string, escaped, as a logged message holds it.
        const text = inString ? JSON.stringify({ message: json }) : json;
        const parsed = JSON.parse(redactSecrets(text));
        check(fields, inString ? JSON.parse(parsed.message) : parsed);
      }),
      { numRuns: 3000 },
    );
  });

  test('an escaped delimiter inside a secret value keeps the whole value hidden', () => {
    const secret = 'S3cr3tPlantedValue';
    for (const text of [
      `Server=x;Password=ab\\;${secret};`,
      `token=ab\\'${secret}`,
      `Authorization: Bearer abc\\,${secret}`,
      `region=\\,token=${secret}`,
      `s3://b/p?region=\\&x-amz-security-token=${secret}`,
    ]) {
      expect(redactSecrets(text), text).not.toContain(secret);
    }
  });

  test('is exported from the main entry point too', () => {
    expect(core.redactUrl).toBe(redactUrl);
    expect(core.redactSecrets).toBe(redactSecrets);
    expect(fromToolkit).toBe(redactSecrets);
    expect(core.findSecrets).toBe(findSecrets);
    expect(core.environmentSecrets).toBe(environmentSecrets);
  });

  test('leaves names with an @ alone, but not a user:password@ at the start of a word', () => {
    expect(redactSecrets('ops@v2  local  up to date')).toBe('ops@v2  local  up to date');
    expect(redactSecrets('mail ops@example.com')).toBe('mail ops@example.com');
    expect(redactSecrets('"AKIAEXAMPLEKEY:wJal/rXUt@bucket/p" is not a storage URL')).toBe(
      '"REDACTED@bucket/p" is not a storage URL',
    );
    expect(redactSecrets('at s3://AKIA:secret@bucket/p')).toBe('at s3://REDACTED@bucket/p');
  });

  test('redacts credential parameters written as words, quoted or not, but no other', () => {
    expect(redactSecrets('signed with sig=S2 and se=2026')).toBe(
      'signed with sig=REDACTED and se=2026',
    );
    expect(redactSecrets("Password='hunter2' rejected")).toBe('Password=REDACTED rejected');
    expect(redactSecrets('{ token="abc def", api_key=\'k3y\' }')).toBe(
      '{ token="abc def", api_key=REDACTED }',
    );
    expect(redactSecrets('design=flat; assign=none, token=')).toBe(
      'design=flat; assign=none, token=',
    );
    expect(redactSecrets('open the address printed (with ?token=…), AccountKey=***')).toBe(
      'open the address printed (with ?token=…), AccountKey=***',
    );
    expect(redactSecrets(JSON.stringify({ m: 'bad "Password="x"' }))).toBe(
      JSON.stringify({ m: 'bad "Password=REDACTED' }),
    );
  });

  test('keeps JSON text JSON, whatever the secret sits next to', () => {
    const text = fc.stringMatching(/^[A-Za-z0-9 "\\\n;&=?:@/]{0,30}$/);
    fc.assert(
      fc.property(
        text,
        fc.constantFrom(
          'AccountKey=c2VjcmV0',
          'Password=hunter2hunter2',
          '?sig=SIGNATURE1',
          '&token=TOKEN123456',
          'Authorization: Bearer abcdefgh123',
          'https://user:pass@host/x',
        ),
        text,
        (before, secret, after) => {
          const document = { message: `${before}${secret}${after}`, nested: [`"${secret}"\\`] };
          const json = JSON.stringify(document, null, 2);
          expect(() => JSON.parse(redactSecrets(json))).not.toThrow();
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('finds a credential behind an escaped ampersand, an array name or a short name', () => {
    // Go's JSON encoder writes `&` as \u0026; PHP and Rails name arrays `sig[]`.
    expect(
      redactSecrets('{"url":"https://h/p?a=1\\u0026sig=SIGSECRET123\\u0026b=2"}'),
    ).not.toContain('SIGSECRET123');
    expect(redactUrl('https://h/p?sig[]=ARRAYSECRET1&token[0]=ARRAYSECRET2')).toBe(
      'https://h/p?sig[]=REDACTED&token[0]=REDACTED',
    );
    expect(redactUrl('https://h/p?sig%5B%5D=ARRAYSECRET3')).toBe('https://h/p?sig%5B%5D=REDACTED');
    expect(
      redactUrl('postgres://db/app?user=ops&pass=HUNTER2HUNTER2&jwt=eyJhbGciOiJIUzI1NiJ9'),
    ).toBe('postgres://db/app?user=ops&pass=REDACTED&jwt=REDACTED');
    expect(redactSecrets('jwt: eyJhbGciOiJIUzI1NiJ9.e30.sig')).toBe('jwt: REDACTED');
    // Words that only contain such a name stay: `passes=3`, `jwtIssuer=…`.
    expect(redactUrl('https://h/p?passes=3&compass=north')).toBe(
      'https://h/p?passes=3&compass=north',
    );
  });

  test('finds a presigned URL percent-encoded inside another URL', () => {
    const inner =
      'https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAEXAMPLE%2F20260101&X-Amz-Signature=PRESIGNEDSECRET';
    for (const url of [
      `https://app.example/login?next=${encodeURIComponent(inner)}&lang=en`,
      `https://app.example/login?next=${encodeURIComponent(encodeURIComponent(inner))}`,
    ]) {
      const redacted = redactUrl(url);
      expect(redacted).not.toContain('PRESIGNEDSECRET');
      expect(redactSecrets(`fetching "${url}" failed`)).not.toContain('PRESIGNEDSECRET');
      expect(redacted.startsWith('https://app.example/login?next=')).toBe(true);
    }
    expect(redactUrl('https://app.example/login?lang=en&next=%2Fhome%3Ftab%3D2')).toBe(
      'https://app.example/login?lang=en&next=%2Fhome%3Ftab%3D2',
    );
    expect(findSecrets(`x?next=${encodeURIComponent(inner)}`)).toContain('PRESIGNEDSECRET');
  });

  test('redacting twice changes nothing more', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9+/=%@:]{1,30}$/);
    fc.assert(
      fc.property(
        fc.constantFrom(
          (s: string) => `s3://AKIA:${s}@bucket/p`,
          (s: string) => `x?sv=1&sig=${s}&se=2`,
          (s: string) => `AccountName=a;AccountKey=${s};`,
          (s: string) => `Authorization: ${s}`,
          (s: string) => `key:${s}@host`,
        ),
        secret,
        (make, value) => {
          const once = redactSecrets(make(value));
          expect(redactSecrets(once)).toBe(once);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('findSecrets', () => {
  test('returns what redactSecrets removes, decoded too, and the password of userinfo', () => {
    const found = findSecrets(
      's3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI%2FK7MDENG@bad bucket/p?region=eu-west-1&x-amz-security-token=FQoGZXIvYXdzEXAMPLE',
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI%2FK7MDENG',
        'wJalrXUtnFEMI%2FK7MDENG',
        'wJalrXUtnFEMI/K7MDENG',
        'AKIAIOSFODNN7EXAMPLE',
        'FQoGZXIvYXdzEXAMPLE',
      ]),
    );
    expect(found).not.toContain('eu-west-1');
  });

  test('finds account keys and SAS signatures, also inside a SharedAccessSignature field', () => {
    expect(
      findSecrets(
        'BlobEndpoint=https://a.example;SharedAccessSignature=sv=2024&ss=b&sig=S1gnatureValue%2B;AccountKey=c2VjcmV0a2V5PT0=',
      ),
    ).toEqual(expect.arrayContaining(['S1gnatureValue%2B', 'S1gnatureValue+', 'c2VjcmV0a2V5PT0=']));
  });

  test('keeps a short user name and short values out: they would hide ordinary words', () => {
    const found = findSecrets('https://svc:pw@host/x?token=abc&sig=true');
    expect(found).toEqual([]);
    expect(findSecrets('https://svc:longpassword@host/x')).toEqual([
      'svc:longpassword',
      'longpassword',
    ]);
  });
});

describe('environmentSecrets', () => {
  test('takes credentials by their variable name, and secrets out of any value', () => {
    const found = environmentSecrets({
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMIK7MDENGbPxRfiCY',
      AWS_SESSION_TOKEN: 'FQoGZXIvYXdzEXAMPLEline1\nFQoGZXIvYXdzEXAMPLEline2',
      GITHUB_TOKEN: 'ghs_0123456789abcdef',
      DEFSTATE_STORAGE_URL: 's3://AKIAIOSFODNN7EXAMPLE:verysecretpassword@bucket/p',
      AZURE_STORAGE_CONNECTION_STRING: 'AccountName=a;AccountKey=c2VjcmV0a2V5PT0=;',
      GOOGLE_APPLICATION_CREDENTIALS: '/etc/gcp/key.json',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.example/request',
      AWS_ACCESS_KEY_ID_SHORT_TOKEN: 'test',
      PATH: '/usr/bin:/bin',
      HOME: '/home/user',
      GIT_AUTHOR_NAME: 'Ada Lovelace',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'wJalrXUtnFEMIK7MDENGbPxRfiCY',
        'FQoGZXIvYXdzEXAMPLEline1',
        'FQoGZXIvYXdzEXAMPLEline2',
        'ghs_0123456789abcdef',
        'verysecretpassword',
        'c2VjcmV0a2V5PT0=',
      ]),
    );
    for (const kept of [
      '/etc/gcp/key.json',
      'https://token.example/request',
      'test',
      'Ada Lovelace',
    ]) {
      expect(found).not.toContain(kept);
    }
  });
});
