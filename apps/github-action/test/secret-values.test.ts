import { describe, expect, test } from 'vitest';
import { secretValues } from '../src/secret-values.js';

describe('which instance-config values are masked', () => {
  test('values under secret-looking names, block scalars line by line, credential-like values', () => {
    const content = [
      'state_storage:',
      '  adapter: azure',
      '  options:',
      '    container: state',
      '    accountName: mycompanystate',
      "    connectionString: 'DefaultEndpointsProtocol=https;AccountKey=abc123=='",
      '    useSas: true',
      '    sasToken: "sv=2024&sig=XyZ"  # from the portal',
      '    privateKey: |',
      '      -----BEGIN KEY-----',
      '      MIIEvQIBADANBgkq',
      '    region: eu-west-1',
      '    endpoint: https://example.com/AKIAxyz0123456789ABCDEF',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: defstate.yaml's own ${env:…} syntax.
      '    tokenFile: ${env:TOKEN_FILE}',
      '    path: /tmp/defstate-Xy7Qz9/state/Store12345',
      'extra: wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
    ].join('\n');
    const values = secretValues(content);
    expect(values).toEqual(
      expect.arrayContaining([
        'DefaultEndpointsProtocol=https;AccountKey=abc123==',
        'abc123==',
        'sv=2024&sig=XyZ',
        '-----BEGIN KEY-----',
        'MIIEvQIBADANBgkq',
        'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
      ]),
    );
    // Not secret: names that do not look secret, booleans, references, paths, short values.
    for (const plain of ['state', 'mycompanystate', 'true', 'eu-west-1', 'XyZ']) {
      expect(values).not.toContain(plain);
    }
    expect(values.some((value) => value.includes('TOKEN_FILE'))).toBe(false);
    expect(values.some((value) => value.includes('/tmp/defstate-'))).toBe(false);
  });

  test('flow style', () => {
    const values = secretValues(
      'state_storage: { adapter: azure, options: { container: state, connectionString: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Flow+Key/123==;EndpointSuffix=core.windows.net" } }\n',
    );
    expect(values).toContain(
      'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Flow+Key/123==;EndpointSuffix=core.windows.net',
    );
    expect(values).toContain('Flow+Key/123==');
    expect(values).not.toContain('state');
  });

  test('the JSON form of the config', () => {
    const values = secretValues(
      JSON.stringify({
        state_storage: {
          adapter: 's3',
          options: { bucket: 'b', credentials: { secretAccessKey: 'json-secret-value' } },
        },
      }),
    );
    expect(values).toEqual(['json-secret-value']);
  });

  test('quoted scalars with escapes: as parsed and as written', () => {
    const values = secretValues(
      [
        'state_storage:',
        '  adapter: s3',
        '  options:',
        "    password: 'it''s a secret'",
        '    clientSecret: "tab\\there \\u00e9"',
      ].join('\n'),
    );
    expect(values).toEqual(
      expect.arrayContaining([
        "it's a secret",
        "it''s a secret",
        'tab\there é',
        'tab\\there \\u00e9',
      ]),
    );
  });

  test('every line of a multi-line scalar, plain, quoted or folded', () => {
    const values = secretValues(
      [
        'state_storage:',
        '  options:',
        '    password: first part',
        '      second part',
        '    token: "quoted first',
        '      quoted second"',
        '    privateKey: >-',
        '      folded one',
        '      folded two',
      ].join('\n'),
    );
    expect(values).toEqual(
      expect.arrayContaining([
        'first part second part',
        'first part',
        'second part',
        'quoted first quoted second',
        'quoted first',
        'quoted second',
        'folded one folded two',
        'folded one',
        'folded two',
      ]),
    );
    expect(values.every((value) => !value.includes('\n'))).toBe(true);
  });

  test('URL userinfo and Azure key parameters anywhere, raw and percent-decoded', () => {
    const values = secretValues(
      [
        'state_storage:',
        '  adapter: "@acme/defstate-http"',
        '  options:',
        '    endpoint: https://deploy:Pw%21long@state.example.com/v1',
        '    mirror: "http://other.example.com/x?sv=2024-01-01&sig=AbC%2Bd%3D&se=2030"',
        '    note: Endpoint=sb://bus/;SharedAccessKeyName=n;SharedAccessKey=busKey123=',
      ].join('\n'),
    );
    expect(values).toEqual(
      expect.arrayContaining([
        'deploy:Pw%21long',
        'deploy:Pw!long',
        'Pw%21long',
        'Pw!long',
        'AbC%2Bd%3D',
        'AbC+d=',
        'busKey123=',
      ]),
    );
    // The host and path stay readable.
    expect(values.some((value) => value.includes('state.example.com'))).toBe(false);
  });

  test('an alias under a secret name masks its anchor', () => {
    expect(
      secretValues('shared: &pw hunter2-long\nstate_storage:\n  options:\n    password: *pw\n'),
    ).toEqual(['hunter2-long']);
  });

  test('lists and maps under a secret name, however deep', () => {
    const values = secretValues(
      'state_storage:\n  options:\n    credentials:\n      - alpha-secret\n      - { id: beta-secret, port: 1234 }\n',
    );
    expect(values).toEqual(['alpha-secret', 'beta-secret']);
  });

  test('a config too broken to parse is still scanned, block and flow entries alike', () => {
    expect(secretValues('state_storage: [\n  secretAccessKey: abcd1234efgh\n')).toEqual([
      'abcd1234efgh',
    ]);
    const values = secretValues(
      [
        'state_storage: {',
        `  options: { sasToken: 'abc''def', "password": "p4ss\\"word" `,
        '  url: https://me:mypass@host',
        '  accountKey: |',
        '    block-line-one',
      ].join('\n'),
    );
    expect(values).toEqual(
      expect.arrayContaining([
        "abc'def",
        "abc''def",
        'p4ss"word',
        'p4ss\\"word',
        'me:mypass',
        'mypass',
        'block-line-one',
      ]),
    );
  });
});
