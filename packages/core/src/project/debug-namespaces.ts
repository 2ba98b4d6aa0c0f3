/**
 * `DEFSTATE_DEBUG` turns on diagnostics without a code change: `1` or `*` for everything,
 * otherwise a comma list of namespaces: `cli` (cause chains with stack traces), `store` (every
 * store's requests) or one store's (`store:s3`, `store:gcs`, `store:azure`, `store:file`).
 * A namespace also turns on those below it: `store` covers `store:s3`.
 */
export function debugEnabled(namespace: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const setting = env.DEFSTATE_DEBUG?.trim();
  if (!setting) return false;
  return setting
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .some(
      (name) =>
        name === '1' ||
        name === '*' ||
        name === 'true' ||
        name === namespace ||
        namespace.startsWith(`${name}:`) ||
        (name.endsWith(':*') && namespace.startsWith(name.slice(0, -1))),
    );
}
