import { describe, expect, it } from 'vitest';
import { inferColumnType, valueType } from '../src/column-type.js';
import { CsvSyntaxError, parseCsv } from '../src/csv.js';

describe('parseCsv', () => {
  it('reads quoted commas, escaped quotes, line breaks in quotes, CRLF and a BOM', () => {
    const text = '\uFEFFa,b\r\n"x, y","say ""hi"""\r\n"two\nlines",\r\n\r\nlast,1';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'say "hi"'] },
      { line: 3, fields: ['two\nlines', ''] },
      { line: 6, fields: ['last', '1'] },
    ]);
  });

  it('reports the line of a stray quote and of text after a closing quote', () => {
    expect(() => parseCsv('a\nb"c\n')).toThrow(
      new CsvSyntaxError(2, 'a quote inside an unquoted field; quote the field'),
    );
    const error = (() => {
      try {
        parseCsv('a\n"b"c\n');
      } catch (caught) {
        return caught as CsvSyntaxError;
      }
    })();
    expect(error?.line).toBe(2);
    expect(error?.message).toBe('text after a closing quote; quote the whole field');
  });
});

describe('column types', () => {
  it.each([
    ['42', 'integer'],
    ['-7', 'integer'],
    ['01067', 'string'],
    ['3.14', 'number'],
    ['1e3', 'number'],
    ['TRUE', 'boolean'],
    ['2024-02-29', 'date'],
    ['2023-02-29', 'string'],
    ['2024-06-01T09:15:00Z', 'timestamp'],
    ['2024-06-01 09:15', 'timestamp'],
    ['hello', 'string'],
  ])('%s is %s', (value, type) => {
    expect(valueType(value)).toBe(type);
  });

  it('widens integers to numbers and dates to timestamps, anything else to string', () => {
    expect(inferColumnType(['1', '2.5'])).toEqual({ type: 'number', nullable: false });
    expect(inferColumnType(['2024-01-01', '2024-01-01T00:00:00Z'])).toEqual({
      type: 'timestamp',
      nullable: false,
    });
    expect(inferColumnType(['1', 'true'])).toEqual({ type: 'string', nullable: false });
  });

  it('treats empty cells as nulls, and an all-empty column as a nullable string', () => {
    expect(inferColumnType(['', 'true'])).toEqual({ type: 'boolean', nullable: true });
    expect(inferColumnType(['', ''])).toEqual({ type: 'string', nullable: true });
  });
});
