import type {
  BlobServiceClient,
  ContainerClient,
  StoragePipelineOptions,
} from '@azure/storage-blob';
import { ConfigError } from '@defstate/core';
import type { AzureStoreOptions } from './options.js';

/**
 * Client setup: which credentials, which endpoint. Everything comes from the SDK's and
 * @azure/identity's own mechanisms; this file only chooses between them, first match wins:
 *
 *   1. `connectionString` option           (shared key or SAS connection string)
 *   2. `sasToken` option, or a SAS query already in `accountUrl`
 *   3. AZURE_STORAGE_CONNECTION_STRING      (the variable the Azure CLI and SDK samples use)
 *   4. DefaultAzureCredential on `accountUrl` (environment, workload identity, managed identity,
 *      Azure CLI, Azure PowerShell, Azure Developer CLI)
 *
 * An explicit `accountUrl` always sets the endpoint; a connection string then only lends its
 * credential. The SDKs are imported here, lazily, so that importing the adapter costs nothing.
 */

/** Which credentials a store uses, described for error messages; never holds the secret. */
export interface CredentialSource {
  /** e.g. `the connection string in AZURE_STORAGE_CONNECTION_STRING (account "acct", shared key)`. */
  description: string;
  /** How to fix refused credentials of this kind. */
  hint: string;
}

export interface AzureClient {
  container: ContainerClient;
  account: string;
  /** The blob service URL without any query (a SAS query is a secret). */
  endpoint: string;
  credentials: CredentialSource;
}

/**
 * SDK retries are off (`maxTries: 1`): core retries transient errors with backoff and jitter
 * around the whole operation, and a retry inside the SDK would repeat a conditional write whose
 * first attempt may have landed, turning our own success into a false conflict. A download
 * whose body ends early may be resumed twice from where it stopped, pinned to the object's etag
 * so a resumed read can never mix two versions (a connection cut off mid-body is not resumed by
 * the SDK; it surfaces as a TransientError).
 */
export const PIPELINE_OPTIONS: StoragePipelineOptions = {
  retryOptions: { maxTries: 1 },
  userAgentOptions: { userAgentPrefix: 'defstate-storage-azure' },
};
export const DOWNLOAD_RESUMES = 2;

const SET_CREDENTIALS_HINT =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: defstate.yaml's ${env:NAME} syntax, not a template
  'Set AZURE_STORAGE_CONNECTION_STRING (or the connectionString option via ${env:NAME}), or give the identity DefaultAzureCredential finds (az login, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, workload or managed identity) the "Storage Blob Data Contributor" role on the container.';

export async function createAzureClient(
  options: AzureStoreOptions,
  env: NodeJS.ProcessEnv,
): Promise<AzureClient> {
  const { AnonymousCredential, BlobServiceClient } = await import('@azure/storage-blob');
  const accountUrl = options.accountUrl === undefined ? undefined : new URL(options.accountUrl);

  const connectionString =
    options.connectionString !== undefined
      ? { text: options.connectionString, origin: 'the connectionString option' }
      : options.sasToken === undefined && !accountUrl?.search && env.AZURE_STORAGE_CONNECTION_STRING
        ? { text: env.AZURE_STORAGE_CONNECTION_STRING, origin: 'AZURE_STORAGE_CONNECTION_STRING' }
        : undefined;

  let service: BlobServiceClient;
  let credentials: CredentialSource;
  if (connectionString) {
    let parsed: BlobServiceClient;
    try {
      parsed = BlobServiceClient.fromConnectionString(connectionString.text, PIPELINE_OPTIONS);
    } catch (error) {
      // The SDK's message names the missing part, never the value; we still leave it out.
      throw new ConfigError(
        `the connection string in ${connectionString.origin} is not a valid Azure Storage connection string`,
        { field: 'state_storage.options.connectionString' },
        {
          cause: error,
          hint: 'Copy it from the portal (Storage account → Access keys) or `az storage account show-connection-string`.',
        },
      );
    }
    const sas = parsed.credential instanceof AnonymousCredential;
    service = accountUrl
      ? new BlobServiceClient(
          withQuery(accountUrl, sas ? new URL(parsed.url).search : ''),
          parsed.credential,
          PIPELINE_OPTIONS,
        )
      : parsed;
    credentials = {
      description: `the connection string in ${connectionString.origin} (account "${service.accountName}", ${sas ? 'SAS' : 'shared key'})`,
      hint: `Check that ${connectionString.origin} holds a current ${sas ? 'SAS that allows read, write, delete and list on the container' : 'access key of the account that owns the container'}. ${SET_CREDENTIALS_HINT}`,
    };
  } else if (accountUrl === undefined) {
    throw new ConfigError(
      'no storage account: set accountUrl, or a connection string',
      { field: 'state_storage.options.accountUrl' },
      {
        hint: 'accountUrl is https://<account>.blob.core.windows.net; with it, credentials come from DefaultAzureCredential. Or set AZURE_STORAGE_CONNECTION_STRING.',
      },
    );
  } else if (options.sasToken !== undefined || accountUrl.search !== '') {
    const origin = options.sasToken !== undefined ? 'the sasToken option' : 'the accountUrl query';
    const url =
      options.sasToken !== undefined ? withQuery(accountUrl, options.sasToken) : accountUrl.href;
    service = new BlobServiceClient(url, new AnonymousCredential(), PIPELINE_OPTIONS);
    credentials = {
      description: `the shared access signature in ${origin}`,
      hint: `Check that the SAS has not expired and allows read, write, delete and list (sp=rwdl) on the container. ${SET_CREDENTIALS_HINT}`,
    };
  } else {
    if (accountUrl.protocol !== 'https:') {
      // The SDK refuses to send a bearer token in clear text; say so before any request.
      throw new ConfigError(
        `accountUrl ${accountUrl.origin} is plain http, and Microsoft Entra ID tokens are only sent over https`,
        { field: 'state_storage.options.accountUrl' },
        {
          hint: 'For an emulator or a local store, set AZURE_STORAGE_CONNECTION_STRING (or the connectionString option); otherwise use the https endpoint.',
        },
      );
    }
    const { DefaultAzureCredential } = await import('@azure/identity');
    service = new BlobServiceClient(
      accountUrl.href,
      new DefaultAzureCredential(),
      PIPELINE_OPTIONS,
    );
    credentials = {
      description:
        'DefaultAzureCredential (environment variables AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH, workload identity, managed identity, Azure CLI, Azure PowerShell, Azure Developer CLI)',
      hint: `Sign in with \`az login\`, or set the AZURE_* variables for a service principal, and grant that identity the "Storage Blob Data Contributor" role on the container. Or set AZURE_STORAGE_CONNECTION_STRING.`,
    };
  }

  const endpoint = new URL(service.url);
  endpoint.search = '';
  return {
    container: service.getContainerClient(options.container),
    account: service.accountName,
    endpoint: endpoint.href.replace(/\/$/, ''),
    credentials,
  };
}

function withQuery(url: URL, query: string): string {
  const copy = new URL(url.href);
  copy.search = query.replace(/^\?/, '');
  return copy.href;
}
