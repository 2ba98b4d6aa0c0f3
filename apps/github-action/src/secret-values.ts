/**
 * Which values of an `instance-config` the job's logs must never show. The runner masks one line
 * at a time, so every value comes back split into lines, in each form a message could quote it:
 * as parsed (escapes resolved, folded lines joined) and as written in the file.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';

// Key names whose values are secrets in any config we know of (accountKey, sasToken,
// connectionString, secretAccessKey, password, clientSecret, privateKey, credentials, …).
const SECRET_NAME = /key|secret|token|passw|credential|connection|sas|signature|auth|private/i;
// A value that looks like a credential whatever its name: long, one word, mixed-case with digits,
// and not a path (a temp folder's random name would otherwise qualify; URLs have a `:`).
const CREDENTIAL_LIKE = /^(?![./~])(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[A-Za-z0-9+/=_.~-]{20,}$/;
// Values too common to mask: masking `true` would hide every `true` in the job's logs.
const TOO_COMMON = /^(?:true|false|yes|no|on|off|null|~|-?\d+(?:\.\d+)?)$/i;
const ENV_REFERENCE = /^\$\{env:[^}]*\}$/;
// `scheme://user:password@host`: the userinfo is a credential wherever it appears.
const URL_USERINFO = /[a-z][a-z0-9+.-]*:\/\/([^\s/?#@"'<>]+)@/gi;
// Azure connection strings and SAS tokens: `AccountKey=…;`, `SharedAccessSignature=…`, `&sig=…`.
const CREDENTIAL_PARAMETER =
  /(?:^|[^a-z0-9])(?:AccountKey|SharedAccessKey|SharedAccessSignature|sig)=([^;&\s"',}\]]+)/gi;
// Block mappings line by line, for the fallback: `name: value`, `- name: value`, `"name": value`.
const ENTRY = /^(\s*)(?:-\s+)?(["']?)([^"':#]+)\2\s*:(?:\s+(.*))?$/;
const BLOCK_SCALAR = /^[|>][+-]?\d*\s*(?:#.*)?$/;
// `name: value` pairs inside flow collections or JSON (`{ sasToken: "…", "password": '…' }`).
const INLINE_ENTRY =
  /(["']?)([A-Za-z_][\w.-]*)\1\s*:\s*("(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?|[^\s,{}[\]#][^,{}[\]#]*)/g;
const QUOTED = /^(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*')/;

/**
 * Every value that looks secret, one line each:
 * - every scalar under a key whose name looks secret, however deep (maps, lists, flow style,
 *   JSON, aliases), and every line of it, both as parsed and as written;
 * - every value that looks like a credential (20+ characters, upper- and lower-case and digits);
 * - anywhere in the text, URL userinfo (`https://user:password@host`) and the values of
 *   `AccountKey=`, `SharedAccessKey=`, `SharedAccessSignature=` and `sig=`;
 * - and, within those, never booleans, numbers, values shorter than 4 characters or a whole
 *   `${env:NAME}` reference (the variable's value, from `secrets.*`, is masked by the runner).
 * A config that does not parse is read line by line instead, since that is exactly when an error
 * message might quote it.
 */
export function secretValues(content: string): string[] {
  const found = new Set<string>();
  const add = (value: string) => {
    for (const line of value.split(/\r\n|\r|\n/)) {
      const bare = line.trim();
      if (bare.length >= 4 && !TOO_COMMON.test(bare) && !ENV_REFERENCE.test(bare)) {
        found.add(bare);
      }
    }
  };
  const document = parseDocument(content, { prettyErrors: false, uniqueKeys: false });
  if (document.errors.length === 0) {
    walk(document.contents, false, content, add, document);
  } else {
    scanLines(content, add);
  }
  for (const value of credentialsInText(content)) add(value);
  return [...found];
}

type Add = (value: string) => void;

/** Adds the scalars under `node`; `visited` stops an alias cycle (`&a [*a]`). */
function walk(
  node: unknown,
  underSecretName: boolean,
  content: string,
  add: Add,
  document: Document,
  visited = new Set<string>(),
): void {
  if (typeof node !== 'object' || node === null) return;
  // The same node is read again only under a secret name it was not yet read under.
  const visit = `${nodeId(node)}:${underSecretName}`;
  if (visited.has(visit)) return;
  visited.add(visit);
  if (isAlias(node)) {
    // An alias under a secret name makes its anchor's value secret too.
    walk(node.resolve(document), underSecretName, content, add, document, visited);
  } else if (isScalar(node)) {
    if (node.value === null || node.value === undefined) return;
    const value = String(node.value);
    if (underSecretName) {
      add(value);
      if (node.range) add(writtenLines(content.slice(node.range[0], node.range[1])));
    } else if (CREDENTIAL_LIKE.test(value)) {
      add(value);
    }
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      const secret = underSecretName || SECRET_NAME.test(name);
      walk(pair.value, secret, content, add, document, visited);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      // `[ token: abc ]`: a flow list may hold single pairs.
      const name = isPair(item) && isScalar(item.key) ? String(item.key.value) : '';
      const secret = underSecretName || SECRET_NAME.test(name);
      walk(isPair(item) ? item.value : item, secret, content, add, document, visited);
    }
  }
}

const nodeIds = new WeakMap<object, number>();
let nextNodeId = 0;
function nodeId(node: object): number {
  let id = nodeIds.get(node);
  if (id === undefined) {
    id = ++nextNodeId;
    nodeIds.set(node, id);
  }
  return id;
}

/** A scalar's source lines without their quotes and block indicators (`|`, `>-`). */
function writtenLines(source: string): string {
  return source
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => !BLOCK_SCALAR.test(line))
    .map((line) => line.replace(/^["']/, '').replace(/["']$/, ''))
    .join('\n');
}

/** The fallback for a config that does not parse: block entries, then inline `name: value`. */
function scanLines(content: string, add: Add): void {
  let block: { indent: number } | undefined;
  for (const line of content.split(/\r\n|\r|\n/)) {
    const indent = line.length - line.trimStart().length;
    if (block) {
      if (!line.trim() || indent > block.indent) {
        add(line);
        continue;
      }
      block = undefined;
    }
    for (const match of line.matchAll(INLINE_ENTRY)) {
      if (SECRET_NAME.test(match[2] ?? '')) addScalar(stripComment(match[3] ?? ''), add);
    }
    const entry = ENTRY.exec(line);
    const value = stripComment(entry?.[4] ?? (entry ? '' : line.trim().replace(/^-\s+/, '')));
    const secretName = entry ? SECRET_NAME.test(entry[3] ?? '') : false;
    if (secretName && BLOCK_SCALAR.test(value)) {
      block = { indent: entry?.[1]?.length ?? 0 };
      continue;
    }
    if (!value) continue;
    if (secretName) addScalar(value, add);
    else if (CREDENTIAL_LIKE.test(unquote(value))) add(unquote(value));
  }
}

/** A scalar as written, and as it reads once its quotes and escapes are resolved. */
function addScalar(written: string, add: Add): void {
  add(written.replace(/^["']/, '').replace(/["']$/, ''));
  add(unquote(written));
}

function unquote(value: string): string {
  if (/^'.*'$/s.test(value)) return value.slice(1, -1).replace(/''/g, "'");
  if (/^".*"$/s.test(value)) {
    try {
      return JSON.parse(value) as string;
    } catch {
      return value.slice(1, -1);
    }
  }
  return value;
}

function stripComment(value: string): string {
  const quoted = QUOTED.exec(value.trim());
  if (quoted) return quoted[0];
  return value.replace(/\s+#.*$/, '').trim();
}

/** URL userinfo and Azure key parameters, wherever they are: raw and percent-decoded. */
function credentialsInText(content: string): string[] {
  const values: string[] = [];
  const withDecoded = (value: string) => {
    values.push(value);
    try {
      const decoded = decodeURIComponent(value);
      if (decoded !== value) values.push(decoded);
    } catch {
      // Not percent-encoded after all: the raw form is enough.
    }
  };
  for (const [, userinfo = ''] of content.matchAll(URL_USERINFO)) {
    withDecoded(userinfo);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) withDecoded(userinfo.slice(colon + 1));
  }
  for (const [, value = ''] of content.matchAll(CREDENTIAL_PARAMETER)) withDecoded(value);
  return values;
}
