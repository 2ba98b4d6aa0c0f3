/**
 * Secrets must never reach a terminal, a log or a JSON report, and the commonest way they would is
 * a URL echoed in a message: `s3://AKIA…:secret@bucket/p?x-amz-security-token=…`, an Azure SAS
 * (`?sv=…&sig=…`), a connection string. These functions take such text apart by pattern, not by
 * parsing, because the text worth redacting is often exactly the text a URL parser refuses.
 */

/** What a redacted value is replaced with. */
export const REDACTED = 'REDACTED';

// A query parameter whose value is a credential: signatures, tokens, keys, passwords. Matched on
// the parameter's name, lower-cased, with `-`, `_` and `.` removed (`X-Amz-Security-Token`,
// `api_key`, `sig`). `keyFilename` is a path and stays readable.
const SECRET_PARAMETER =
  /^(sig|signature|xamzsignature|xgoogsignature|xamzcredential|xgoogcredential|credential|credentials|code|accountkey|sharedaccesssignature|sharedaccesskey|connectionstring|sastoken)$|token|secret|passw(or)?d|^pwd$|(^|api|access|account|shared|private|client|secret|master|auth)key$|^auth(orization)?$/;

function isSecretParameter(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A malformed escape is judged as written.
  }
  return SECRET_PARAMETER.test(decoded.toLowerCase().replace(/[-_.]/g, ''));
}

// `scheme://` + everything up to the last `@` before the path's end is userinfo. Greedy on
// purpose: an AWS secret may hold `/` or `@`, and redacting a path segment by mistake costs less
// than printing a secret.
const USERINFO = /((?:[a-z][a-z0-9+.-]*:)?\/\/)[^\s?#"'<>]*@/gi;
// In a single URL without `//` (`AKIA…:secret@bucket/p`, `s3:key@bucket`), what comes before an
// `@` ahead of the path is userinfo too.
const LEADING_USERINFO = /^(?!(?:[a-z][a-z0-9+.-]*:)?\/\/)[^\s/?#"'<>]*@/i;
// A value stops at `?` too, so that text like `x=/?token=…` cannot hide the real parameter.
const QUERY_PARAMETER = /([?&;])([^=&#\s"'<>;?/]+)=([^&#\s"'<>;?]*)/g;
// Connection-string fields (Azure, databases): `AccountKey=…;`, `Password=…;`.
const CONNECTION_FIELD =
  /\b(AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd|ClientSecret)=([^;\s"'<>]*)/gi;
const AUTHORIZATION = /\b(Authorization|Proxy-Authorization)(["']?\s*[:=]\s*["']?)([^\r\n"',}]+)/gi;
const BEARER = /\b(Bearer|Basic|SharedKey)\s+[A-Za-z0-9._~+/=:-]{8,}/g;

function redactQuery(text: string): string {
  return text.replace(QUERY_PARAMETER, (whole, separator: string, name: string) =>
    isSecretParameter(name) ? `${separator}${name}=${REDACTED}` : whole,
  );
}

/**
 * One URL (well-formed or not) with its userinfo and credential-like query parameters replaced by
 * `REDACTED`: `s3://REDACTED@bucket/p?region=eu-west-1&X-Amz-Security-Token=REDACTED`.
 */
export function redactUrl(url: string): string {
  const withoutUserinfo = url
    .replace(USERINFO, `$1${REDACTED}@`)
    .replace(LEADING_USERINFO, `${REDACTED}@`);
  return redactQuery(withoutUserinfo).replace(CONNECTION_FIELD, `$1=${REDACTED}`);
}

/**
 * Any text (a message, a log line, an SDK error) with every secret-looking part replaced: URL
 * userinfo, credential query parameters (also in a bare `?sv=…&sig=…`), connection-string keys,
 * and Authorization header values.
 */
export function redactSecrets(text: string): string {
  return redactUrl(text)
    .replace(AUTHORIZATION, `$1$2${REDACTED}`)
    .replace(BEARER, `$1 ${REDACTED}`);
}
