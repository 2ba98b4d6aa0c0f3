/**
 * Column type inference for CSV tables: the narrowest type every non-empty value fits. Empty cells
 * are nulls and make the column nullable; they say nothing about its type.
 */

export const COLUMN_TYPES = [
  'integer',
  'number',
  'boolean',
  'date',
  'timestamp',
  'string',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

// No leading zeros: `01067` is a postcode, not the number 1067.
const INTEGER = /^-?(0|[1-9]\d*)$/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const BOOLEAN = /^(true|false)$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

export function valueType(value: string): ColumnType {
  if (INTEGER.test(value)) return 'integer';
  if (NUMBER.test(value)) return 'number';
  if (BOOLEAN.test(value)) return 'boolean';
  if (isCalendarDate(DATE.exec(value))) return 'date';
  if (isCalendarDate(TIMESTAMP.exec(value)) && !Number.isNaN(Date.parse(value))) return 'timestamp';
  return 'string';
}

/** The type of a column from its values: widened where two types have a common one, else string. */
export function inferColumnType(values: readonly string[]): {
  type: ColumnType;
  nullable: boolean;
} {
  let type: ColumnType | undefined;
  let nullable = false;
  for (const value of values) {
    if (value === '') {
      nullable = true;
      continue;
    }
    type = type === undefined ? valueType(value) : widen(type, valueType(value));
  }
  return { type: type ?? 'string', nullable };
}

function widen(a: ColumnType, b: ColumnType): ColumnType {
  if (a === b) return a;
  const pair = new Set([a, b]);
  if (pair.has('integer') && pair.has('number')) return 'number';
  if (pair.has('date') && pair.has('timestamp')) return 'timestamp';
  return 'string';
}

/** `2024-02-30` looks like a date but is not one. */
function isCalendarDate(match: RegExpExecArray | null): boolean {
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  );
}
