import fc from 'fast-check';
import { expect } from 'vitest';
import { DefstateError } from '../../src/index.js';

/**
 * Inputs for the fuzz tests: what a user can type, paste or misconfigure. Every property checks
 * the same promise: bad input is a `DefstateError` (which the CLI prints as a message with exit
 * 2), never a crash with a stack. The run counts add up to more than 100,000 inputs per CI run
 * (keys 40,000, project configs 20,000, defstate.yaml 20,000, storage URLs 20,000, pointer
 * documents 22,000 here, and 5,000 more through each cloud adapter's own `optionsFromUrl`).
 */

/** Raw UTF-16 code units, lone surrogates and controls included: anything a string can hold. */
export const utf16Unit = fc
  .integer({ min: 0, max: 0xffff })
  .map((unit) => String.fromCharCode(unit));

/** Pieces that break parsers and encoders: separators, escapes, dot names, YAML and URL syntax. */
export const trickyPiece = fc.constantFrom(
  '.',
  '..',
  '/',
  '\\',
  '%',
  '%2',
  '%zz',
  '%2F',
  '%00',
  '%E0%A4%A',
  '~',
  '~~',
  '^',
  '@',
  ':',
  '?',
  '#',
  '&',
  '=',
  '*',
  '&a',
  '*a',
  '!!binary',
  '!!js/function',
  '<<',
  '---',
  '...',
  '- ',
  ': ',
  '{',
  '}',
  '[',
  ']',
  '|',
  '>',
  '"',
  "'",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: defstate.yaml's ${env:NAME} syntax.
  '${env:HOME}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: defstate.yaml's ${env:NAME} syntax.
  '${env:NOPE}',
  '${',
  '\n',
  '\r\n',
  '\t',
  ' ',
  '\u0000',
  '\u007f',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\ud800',
  '\udfff',
  '🚀',
  'é',
  'İ',
  'CON',
  'nul',
  '__proto__',
  'constructor',
  'x'.repeat(300),
);

/** Text built from tricky pieces and arbitrary units. */
export const hostileText = fc
  .array(fc.oneof(trickyPiece, utf16Unit, fc.string({ maxLength: 8 })), { maxLength: 24 })
  .map((parts) => parts.join(''));

/** The error a call throws, if any; fails the test when it is not a DefstateError. */
export function expectOnlyDefstateErrors(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    expect(error, `${(error as Error)?.stack ?? String(error)}`).toBeInstanceOf(DefstateError);
    return error;
  }
}

export async function expectOnlyDefstateErrorsAsync(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return await run();
  } catch (error) {
    expect(error, `${(error as Error)?.stack ?? String(error)}`).toBeInstanceOf(DefstateError);
    return error;
  }
}
