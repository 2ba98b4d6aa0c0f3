import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Canaries: unique random strings planted where secrets go (URLs, the environment, defstate.yaml,
 * errors a store throws), and then looked for in everything defstate writes. Letters and digits
 * only, so that percent-encoding, JSON and HTML escaping leave them as they are: a canary found
 * in any form is found as itself.
 */
export class Canaries {
  readonly #planted = new Map<string, string>();

  /** A new canary, remembered under `label` (which names it in a failure). */
  plant(label: string): string {
    if (this.#planted.has(label)) throw new Error(`canary "${label}" planted twice`);
    const value = `${label.replace(/[^A-Za-z0-9]/g, '')}${randomBytes(8).toString('hex').toUpperCase()}q`;
    this.#planted.set(label, value);
    return value;
  }

  /** `channel: label` for every canary found in every channel. */
  findIn(channels: Readonly<Record<string, string>>): string[] {
    const found: string[] = [];
    for (const [channel, text] of Object.entries(channels)) {
      for (const [label, value] of this.#planted) {
        if (text.includes(value)) found.push(`${channel}: ${label}`);
      }
    }
    return found;
  }
}

/**
 * Every file under `root` with its text, by path relative to `root`, leaving out `node_modules`
 * (the packages the test installs) and following no symbolic link.
 */
export async function filesUnder(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (folder: string, relative: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const path = join(folder, entry.name);
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      const stats = await lstat(path);
      if (stats.isDirectory()) await walk(path, name);
      else if (stats.isFile()) files[name] = await readFile(path, 'latin1');
    }
  };
  await walk(root, '');
  return files;
}

/**
 * A third-party storage adapter, `defstate-storage-leaky`, that fails the way careless SDKs do:
 * every request throws an error quoting the URL and connection string it was given. With
 * `failAt: create` it cannot even open. Selected by `leaky://…` URLs or by name in defstate.yaml.
 */
export const LEAKY_ADAPTER = `
const schema = { safeParse: (data) => ({ success: true, data }) };

class LeakyStore {
  adapter = 'leaky';
  location = 'leaky://store';
  capabilities = { conditionalPut: true, delete: true };
  constructor(options) {
    this.options = options;
  }
  fail(operation, name) {
    const { url, connectionString } = this.options;
    throw new Error(\`\${operation} \${name}: request to \${url} failed: 400 Bad Request\${connectionString ? \` (connection string \${connectionString})\` : ''}\`);
  }
  async get(name) { this.fail('GET', name); }
  async head(name) { this.fail('HEAD', name); }
  async put(name) { this.fail('PUT', name); }
  async list(prefix) { this.fail('LIST', prefix); }
  async delete(name) { this.fail('DELETE', name); }
}

export const storageAdapter = {
  name: 'leaky',
  optionsSchema: schema,
  async create(options) {
    if (options.failAt === 'create') throw new Error(\`cannot reach \${options.url}: getaddrinfo ENOTFOUND\`);
    return new LeakyStore(options);
  },
  optionsFromUrl: (url) => ({ url: url.href, failAt: url.searchParams.get('failAt') ?? undefined }),
};
`;
