/**
 * An error and its causes, for `--verbose` and `DEFSTATE_DEBUG`: where a failure started is
 * usually at the end of the chain (a component's TypeError under the RefreshFailedError that
 * names its key), so the whole chain is shown, each link with its stack.
 */

/** The error, then its `cause`, then that one's, …; a chain that loops back stops. */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  const seen = new Set<unknown>();
  for (let current = error; current !== undefined && !seen.has(current); ) {
    chain.push(current);
    seen.add(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

export interface FormatCauseChainOptions {
  /** Print each link's stack trace (the default), or only its name and message. */
  stacks?: boolean;
}

/**
 * The chain as text: the first link's stack, then `caused by: ` and the next one's, indented.
 * An AggregateError's errors are listed under it.
 */
export function formatCauseChain(error: unknown, options: FormatCauseChainOptions = {}): string {
  const stacks = options.stacks ?? true;
  return causeChain(error)
    .map((link, index) => {
      const text = describeLink(link, stacks);
      const aggregated =
        link instanceof AggregateError
          ? link.errors.map((inner, position) =>
              indent(`[${position}] ${describeLink(inner, stacks)}`, '    '),
            )
          : [];
      const body = [text, ...aggregated].join('\n');
      return index === 0 ? body : indent(`caused by: ${body}`, '  ');
    })
    .join('\n');
}

function describeLink(link: unknown, stacks: boolean): string {
  if (!(link instanceof Error)) return `(thrown value) ${String(link)}`;
  const head = `${link.name}: ${link.message}`;
  if (!stacks || !link.stack) return head;
  // A stack starts with `Name: message`; the message may have changed since it was captured.
  const frames = link.stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .join('\n');
  return frames ? `${head}\n${frames}` : head;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}
