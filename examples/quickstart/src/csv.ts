/**
 * A small RFC 4180 CSV reader: comma-separated fields, LF or CRLF records, double-quoted fields
 * that may hold commas, line breaks and `""` for a quote. Blank lines are skipped. Enough for the
 * example's tables without a dependency.
 */

export interface CsvRecord {
  /** The line the record starts on, counting from 1. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.name = 'CsvSyntaxError';
    this.line = line;
  }
}

export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let line = 1;
  let index = 0;
  while (index < input.length) {
    const start = line;
    const fields: string[] = [];
    let atRecordEnd = false;
    if (input[index] === '\n' || input.startsWith('\r\n', index)) {
      index += input[index] === '\n' ? 1 : 2;
      line += 1;
      continue;
    }
    while (!atRecordEnd) {
      let field = '';
      if (input[index] === '"') {
        index += 1;
        for (;;) {
          if (index >= input.length) {
            throw new CsvSyntaxError(start, 'a quoted field is never closed');
          }
          const char = input[index] as string;
          if (char === '"' && input[index + 1] === '"') {
            field += '"';
            index += 2;
          } else if (char === '"') {
            index += 1;
            break;
          } else {
            if (char === '\n') line += 1;
            field += char;
            index += 1;
          }
        }
        const next = input[index];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          throw new CsvSyntaxError(line, 'text after a closing quote; quote the whole field');
        }
      } else {
        while (index < input.length && !',\r\n'.includes(input[index] as string)) {
          if (input[index] === '"') {
            throw new CsvSyntaxError(line, 'a quote inside an unquoted field; quote the field');
          }
          field += input[index];
          index += 1;
        }
      }
      fields.push(field);
      if (input[index] === ',') {
        index += 1;
      } else {
        atRecordEnd = true;
        if (input.startsWith('\r\n', index)) index += 2;
        else if (input[index] === '\n' || input[index] === '\r') index += 1;
        line += 1;
      }
    }
    records.push({ line: start, fields });
  }
  return records;
}
