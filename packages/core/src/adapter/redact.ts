/**
 * Secrets must never reach a terminal, a log or a JSON report, and the commonest way they would is
 * a URL echoed in a message: `s3://AKIA…:secret@bucket/p?x-amz-security-token=…`, an Azure SAS
 * (`?sv=…&sig=…`), a connection string. These functions take such text apart by pattern, not by
 * parsing, because the text worth redacting is often exactly the text a URL parser refuses.
 * `findSecrets` returns the values the same patterns redact, so that what a log masks and what a
 * message redacts never disagree.
 */

/** What a redacted value is replaced with. */
export const REDACTED = 'REDACTED';

// A query parameter whose value is a credential: signatures, tokens, keys, passwords. Matched on
// the parameter's name, lower-cased, with `-`, `_` and `.` removed (`X-Amz-Security-Token`,
// `api_key`, `sig`). `keyFilename` is a path and stays readable.
const SECRET_PARAMETER =
  /^(sig|signature|xamzsignature|xgoogsignature|xamzcredential|xgoogcredential|credential|credentials|code|accountkey|sharedaccesssignature|sharedaccesskey|connectionstring|sastoken|pass|jwt)$|token|secret|passw(or)?d|^pwd$|(^|api|access|account|shared|private|client|secret|master|auth)key$|^auth(orization)?$/;

function isSecretParameter(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A malformed escape is judged as written.
  }
  // Each part of an array or nested name is judged on its own: `sig[]`, `token[0]`,
  // `user[password]`.
  return decoded
    .toLowerCase()
    .replace(/[-_.]/g, '')
    .split(/[[\]]+/)
    .some((part) => SECRET_PARAMETER.test(part));
}

// Values run to their delimiter, and a backslash is taken only with the character after it, never
// before a `"`: in JSON text (`"…?sig=abc\"…"`) the escape that closes a string stays whole, so
// redacting JSON text leaves it JSON. An escaped delimiter stays in the value (`Password=ab\;cd`
// is one password); the value of a parameter that is not a secret is searched again, so that
// `?a=\&token=…` cannot carry a token inside it (redactQuery).
const VALUE_CHAR = (excluded: string) => `(?:[^${excluded}\\\\]|\\\\[^"\\s])`;
// Or quoted, as prose and inspected objects write values (`Password='hunter2'`), also inside JSON
// text (`Password=\"hunter2\"`).
const QUOTED = `"[^"\\s,\\\\]+"|'[^'\\s,]+'|\\\\"[^"\\s,\\\\]+\\\\"`;
const VALUE = (excluded: string) => `(?:${QUOTED}|${VALUE_CHAR(excluded)}*)`;

// `scheme://` + everything up to the last `@` before the path's end is userinfo. Greedy on
// purpose: an AWS secret may hold `/` or `@`, and redacting a path segment by mistake costs less
// than printing a secret.
const USERINFO = /((?:[a-z][a-z0-9+.-]*:)?\/\/)([^\s?#"'<>]*)@/gi;
// In a single URL without `//` (`AKIA…:secret@bucket/p`, `s3:key@bucket`), what comes before an
// `@` ahead of the path is userinfo too.
const LEADING_USERINFO = /^(?!(?:[a-z][a-z0-9+.-]*:)?\/\/)([^\s/?#"'<>]*)@/i;
// In free text only `user:password@` counts, at the start of a word: `ops@v2` or `me@example.com`
// there is a name, not a credential.
const WORD_USERINFO = /(^|[\s"'(<=])([^\s/?#"'<>@:]+:(?!\/\/)[^\s?#"'<>]*)@/g;
// A value stops at `?` too, so that text like `x=/?token=…` cannot hide the real parameter. A
// fragment is read as parameters as well: OAuth puts `#access_token=…` there.
// Go's JSON encoder writes `&` as `\\u0026`, so that is a delimiter too.
const QUERY_PARAMETER = new RegExp(
  `([?&;#]|\\\\u0026)([^=&#\\s"'<>;?/\\\\]+)=(${VALUE_CHAR(`&#\\s"'<>;?`)}*)`,
  'g',
);
// The same names outside a query, as a word of their own: `signed with sig=…`, `token='…'`.
const WORD_PARAMETER = new RegExp(
  `(^|[\\s"'(,{[])([A-Za-z][\\w.-]*)=(${VALUE(`&#\\s"'<>;?,`)})`,
  'g',
);
// `name: value` with a credential's name: a header an SDK printed (`X-Amz-Security-Token: …`),
// a field of JSON or YAML text (`"secretAccessKey": "…"`, `password: …`).
const NAMED_FIELD = new RegExp(
  `(^|[\\s"'({,[])(\\\\?["']?)([A-Za-z][\\w.-]*)\\2(\\s*:[ \\t]*)(${VALUE(`,;\\s"'<>{}[\\]`)})`,
  'g',
);
// Connection-string fields (Azure, databases): `AccountKey=…;`, `Password=…;`.
const CONNECTION_FIELD = new RegExp(
  `\\b(AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd|ClientSecret)=(${VALUE(`;\\s"'<>`)})`,
  'gi',
);
const AUTHORIZATION = new RegExp(
  // The value never starts with a space, `{` or `[`: in JSON text (`"Authorization": "…"`, or an
  // object) a separator cut short before its quote must not leave a bare REDACTED behind.
  `\\b(Authorization|Proxy-Authorization)(["']?\\s*[:=]\\s*["']?)((?![\\s{[])${VALUE_CHAR(`\\r\\n"',}`)}+)`,
  'gi',
);
const BEARER = /\b(Bearer|Basic|SharedKey)\s+([A-Za-z0-9._~+/=:-]{8,})/g;

/** Called with each secret a pattern finds, before it is replaced: userinfo, or a value. */
type OnSecret = (value: string, userinfo?: boolean) => void;

function redactUserinfo(text: string, found: OnSecret, single: boolean): string {
  const replaced = text
    .replace(USERINFO, (_whole, scheme: string, userinfo: string) => {
      found(userinfo, true);
      return `${scheme}${REDACTED}@`;
    })
    .replace(WORD_USERINFO, (_whole, before: string, userinfo: string) => {
      found(userinfo, true);
      return `${before}${REDACTED}@`;
    });
  if (!single) return replaced;
  return replaced.replace(LEADING_USERINFO, (_whole, userinfo: string) => {
    if (userinfo !== REDACTED) found(userinfo, true);
    return `${REDACTED}@`;
  });
}

// A value already hidden, or a placeholder in a message (`?token=…`), is left as it is.
const PLACEHOLDER = /^(?:$|…|REDACTED$|\*\*\*$)/;

function redactQuery(text: string, found: OnSecret): string {
  const redact = (whole: string, before: string, name: string, value: string): string => {
    if (!isSecretParameter(name)) {
      // Shorter than the whole match by at least `name=`, so the search ends.
      const searched = redactQuery(value, found);
      if (searched !== value) return `${before}${name}=${searched}`;
      // A URL carried in a parameter (`?next=https%3A%2F%2F…%3FX-Amz-Signature%3D…`) is
      // percent-encoded, once or more: its secrets are found decoded, and the whole value goes.
      return holdsEncodedSecret(value, found) ? `${before}${name}=${REDACTED}` : whole;
    }
    if (PLACEHOLDER.test(value)) return whole;
    found(unquoted(value));
    return `${before}${name}=${REDACTED}`;
  };
  return text.replace(QUERY_PARAMETER, redact).replace(WORD_PARAMETER, redact);
}

/** Whether `value`, percent-decoded once or a few times, holds a credential parameter. */
function holdsEncodedSecret(value: string, found: OnSecret): boolean {
  let text = value;
  for (let depth = 0; depth < 3 && text.includes('%'); depth++) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(text);
    } catch {
      return false;
    }
    if (decoded === text) return false;
    if (redactQuery(decoded, found) !== decoded) return true;
    text = decoded;
  }
  return false;
}

// As fields, `key: …` and `code: …` are what messages say (`components.0.key: …`, `code: ENOENT`),
// and an Authorization value holds a scheme and a space, which redactHeaders takes whole.
const NOT_A_NAMED_SECRET = /^(key|code|(proxy-)?authorization)$/i;

function redactNamedFields(text: string, found: OnSecret): string {
  return text.replace(
    NAMED_FIELD,
    (whole, before: string, quote: string, name: string, separator: string, value: string) => {
      if (!isSecretParameter(name) || NOT_A_NAMED_SECRET.test(name)) return whole;
      if (PLACEHOLDER.test(value)) return whole;
      found(unquoted(value));
      // A quoted value keeps its quotes, so that JSON text stays JSON.
      const quoted = /^\\?["']/.exec(value)?.[0] ?? '';
      return `${before}${quote}${name}${quote}${separator}${quoted}${REDACTED}${quoted}`;
    },
  );
}

function redactFields(text: string, found: OnSecret): string {
  return text.replace(CONNECTION_FIELD, (whole, name: string, value: string) => {
    if (PLACEHOLDER.test(value)) return whole;
    found(unquoted(value));
    return `${name}=${REDACTED}`;
  });
}

function unquoted(value: string): string {
  return value.replace(/^\\?["']|\\?["']$/g, '');
}

function redactHeaders(text: string, found: OnSecret): string {
  return text
    .replace(AUTHORIZATION, (_whole, name: string, separator: string, value: string) => {
      found(value);
      return `${name}${separator}${REDACTED}`;
    })
    .replace(BEARER, (_whole, scheme: string, value: string) => {
      found(value);
      return `${scheme} ${REDACTED}`;
    });
}

const ignore: OnSecret = () => {};

/**
 * One URL (well-formed or not) with its userinfo and credential-like query parameters replaced by
 * `REDACTED`: `s3://REDACTED@bucket/p?region=eu-west-1&X-Amz-Security-Token=REDACTED`.
 */
export function redactUrl(url: string): string {
  if (!MAY_HOLD_SECRET.test(url)) return url;
  return redactFields(redactQuery(redactUserinfo(url, ignore, true), ignore), ignore);
}

/**
 * Any text (a message, a log line, an SDK error, JSON) with every secret-looking part replaced:
 * URL userinfo, credential query parameters (also in a bare `?sv=…&sig=…`), connection-string
 * keys, and Authorization header values. JSON text stays JSON.
 */
export function redactSecrets(text: string): string {
  return redactAll(text, ignore);
}

// Every pattern above but the named field needs one of these: an `@` (userinfo), an `=`
// (parameters and fields), or an Authorization header or scheme. Text without any of them (a key, a version, a date, most of a
// `--json` document) is returned as it is, without running the patterns over it.
const MAY_HOLD_SECRET = /[@=]|authorization|bearer|basic|sharedkey/i;
// A `name: value` field needs a `:` and a credential's name.
const MAY_HOLD_FIELD = /:/;
const CREDENTIAL_WORD = /sig|credential|code|key|token|secret|passw|pwd|sas|auth/i;

function redactAll(text: string, found: OnSecret): string {
  const fields = MAY_HOLD_FIELD.test(text) && CREDENTIAL_WORD.test(text);
  if (!fields && !MAY_HOLD_SECRET.test(text)) return text;
  const queried = redactQuery(redactUserinfo(text, found, false), found);
  return redactHeaders(
    redactFields(fields ? redactNamedFields(queried, found) : queried, found),
    found,
  );
}

/**
 * Values shorter than this are not returned as secrets to hide wherever they appear: `test` or
 * `admin` would hide every `latest` and `administrator`. Where they stand in a URL or a connection
 * string, the patterns above still redact them.
 */
export const MIN_SECRET_LENGTH = 8;

const TOO_COMMON = /^(?:true|false|yes|no|on|off|null|undefined|-?\d+(?:\.\d+)?)$/i;

/**
 * Every secret value in `text` that `redactSecrets` would redact, to hide wherever it may appear
 * on its own (an SDK that prints a decoded password, a runner's `::add-mask::`): each URL's
 * userinfo and its password, each credential query parameter's value, each `AccountKey=`-style
 * field and Authorization value, also percent-decoded; none shorter than `MIN_SECRET_LENGTH`.
 */
export function findSecrets(text: string): string[] {
  const found = new Set<string>();
  const add = (value: string) => {
    const candidates = [value];
    try {
      candidates.push(decodeURIComponent(value));
    } catch {
      // Not percent-encoded after all: the value as written is enough.
    }
    for (const candidate of candidates) {
      if (isWorthHiding(candidate)) found.add(candidate);
    }
  };
  redactAll(text, (value, userinfo) => {
    add(value);
    const colon = value.indexOf(':');
    // Userinfo is `user:password`: the password alone, and the user when it is as long as a key
    // id (AKIA…, 20 characters) rather than a name.
    if (userinfo && colon >= 0) {
      add(value.slice(colon + 1));
      if (colon >= 16) add(value.slice(0, colon));
    }
  });
  // A field's value may itself hold parameters (`SharedAccessSignature=sv=…&sig=…`).
  for (const value of [...found]) {
    if (/[&=]/.test(value)) {
      redactQuery(`?${value}`, (inner) => {
        if (isWorthHiding(inner)) found.add(inner);
      });
    }
  }
  return [...found];
}

function isWorthHiding(value: string): boolean {
  return value.length >= MIN_SECRET_LENGTH && value !== REDACTED && !TOO_COMMON.test(value);
}

// Environment variables whose whole value is a credential, by name: `AWS_SECRET_ACCESS_KEY`,
// `AWS_SESSION_TOKEN`, `AZURE_STORAGE_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`, `*_API_KEY`…
const SECRET_VARIABLE =
  /SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|CONNECTION_?STRING|(ACCOUNT|ACCESS|API|PRIVATE|STORAGE|SIGNING|ENCRYPTION)_?KEY|(^|_)SAS(_|$)|SIGNATURE/i;
// A value that names where a secret is (a file, a URL without credentials) is not one.
const PATH_OR_URL = /^(?:[/~.]|[A-Za-z]:[\\/]|[a-z][a-z0-9+.-]*:\/\/)/i;

/**
 * The secrets an environment holds, to hide wherever they appear: the value of every variable
 * named like a credential (each line of it), and whatever `findSecrets` finds in any value (the
 * password in `DEFSTATE_STORAGE_URL`, the `AccountKey` of a connection string).
 */
export function environmentSecrets(env: Readonly<NodeJS.ProcessEnv>): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_VARIABLE.test(name)) {
      for (const line of value.split(/\r\n|\r|\n/)) {
        const bare = line.trim();
        if (isWorthHiding(bare) && !PATH_OR_URL.test(bare)) found.add(bare);
      }
    }
    for (const secret of findSecrets(value)) found.add(secret);
  }
  return [...found];
}
