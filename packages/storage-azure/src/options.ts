import { ObjectPrefixSchema } from '@defstate/core';
import { z } from 'zod';

/**
 * The options of `state_storage: { adapter: azure, options: … }`, and the `azblob://` URL form.
 * Secrets are accepted here only so that `${env:NAME}` references in defstate.yaml work; the
 * README steers users to the environment and to Microsoft Entra ID instead.
 */

// Azure's container rule: 3–63 characters, lowercase letters, digits and single inner hyphens.
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export const AzureStoreOptionsSchema = z
  .object({
    container: z
      .string({ error: 'container is required: the blob container that holds the state' })
      .regex(
        CONTAINER_NAME,
        'container must be 3-63 lowercase letters, digits and single hyphens (Azure naming rules)',
      )
      .describe('Blob container that holds the state objects. It must exist.'),
    prefix: ObjectPrefixSchema,
    accountUrl: z
      .string()
      .refine(
        isHttpUrl,
        'accountUrl must be an http(s) URL such as https://<account>.blob.core.windows.net',
      )
      .optional()
      .describe(
        'Blob service endpoint: https://<account>.blob.core.windows.net, an emulator such as http://127.0.0.1:10000/devstoreaccount1, or a compatible store. May carry a SAS query.',
      ),
    connectionString: z.string().min(1, 'connectionString must not be empty').optional().describe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: defstate.yaml's ${env:NAME} syntax, not a template
      'A storage connection string; prefer ${env:NAME} or AZURE_STORAGE_CONNECTION_STRING to a literal.',
    ),
    requestTimeoutMs: z
      .number({ error: 'requestTimeoutMs must be a number of milliseconds' })
      .int()
      .min(100, 'requestTimeoutMs must be at least 100')
      .optional()
      .describe(
        'Fail a request without an answer, or an upload without progress, for this long (default 60000); core retries it.',
      ),
    sasToken: z
      .string()
      .min(1, 'sasToken must not be empty')
      .optional()
      // biome-ignore lint/suspicious/noTemplateCurlyInString: defstate.yaml's ${env:NAME} syntax, not a template
      .describe('A shared access signature for accountUrl; prefer ${env:NAME} to a literal.'),
  })
  .strict()
  .superRefine((options, context) => {
    if (options.connectionString !== undefined && options.sasToken !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['sasToken'],
        message: 'sasToken and connectionString are alternatives: set one of them',
      });
    }
    if (options.sasToken !== undefined && options.accountUrl === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['accountUrl'],
        message: 'sasToken needs accountUrl: the endpoint the signature is for',
      });
    }
    if (
      options.sasToken !== undefined &&
      options.accountUrl !== undefined &&
      isHttpUrl(options.accountUrl) &&
      new URL(options.accountUrl).search !== ''
    ) {
      context.addIssue({
        code: 'custom',
        path: ['sasToken'],
        message: 'accountUrl already carries a query (a SAS URL); drop sasToken or the query',
      });
    }
  });

export type AzureStoreOptions = z.output<typeof AzureStoreOptionsSchema>;
export type AzureStoreOptionsInput = z.input<typeof AzureStoreOptionsSchema>;

/** The endpoint of an account on Azure's public cloud. */
export function defaultAccountUrl(account: string): string {
  return `https://${account}.blob.core.windows.net`;
}

/**
 * `azblob://<account>/<container>/<prefix…>[?endpoint=<blob service URL>]`
 *
 * The account URL is `https://<account>.blob.core.windows.net` unless `endpoint` overrides it
 * (Azurite: `http://127.0.0.1:10000/devstoreaccount1`). A URL never carries credentials: they
 * come from AZURE_STORAGE_CONNECTION_STRING when it is set, otherwise from
 * DefaultAzureCredential. What is missing or malformed is left for the schema to report.
 */
export function azureOptionsFromUrl(url: URL): Record<string, unknown> {
  const [container = '', ...prefix] = url.pathname
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => decodeURIComponent(segment));
  const endpoint = url.searchParams.get('endpoint');
  const timeout = url.searchParams.get('requestTimeoutMs');
  const account = decodeURIComponent(url.hostname);
  return {
    container,
    prefix: prefix.join('/'),
    ...(timeout === null ? {} : { requestTimeoutMs: Number(timeout) }),
    ...(endpoint
      ? { accountUrl: endpoint }
      : account
        ? { accountUrl: defaultAccountUrl(account) }
        : {}),
  };
}
