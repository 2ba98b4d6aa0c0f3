/**
 * `warehouse-catalog`: introspects the warehouse, here a folder of CSV "tables" in
 * `sources/warehouse/`, into a catalog of tables, their columns with inferred types, and row
 * counts. Versioned management: a catalog is what a real deployment would fetch from a remote
 * system, and every change to it should be kept as a version one can pin or roll back to.
 */
import { writeFile } from 'node:fs/promises';
import { defineComponent } from '@defstate/core';
import { type ColumnType, inferColumnType } from '../column-type.js';
import { CsvSyntaxError, parseCsv } from '../csv.js';
import {
  baseName,
  listSourceFiles,
  readSourceText,
  type SourceProblem,
  throwIfProblems,
} from '../source-files.js';

export const WAREHOUSE_FOLDER = 'sources/warehouse';

export interface Column {
  name: string;
  type: ColumnType;
  /** Whether some rows leave it empty. */
  nullable: boolean;
}

export interface Table {
  name: string;
  /** The CSV file it was read from. */
  source: string;
  rowCount: number;
  columns: Column[];
}

export interface WarehouseCatalogState {
  schemaVersion: 1;
  /** Sorted by name. */
  tables: Table[];
}

const TABLE_NAME = /^[a-z_][a-z0-9_]*$/;

export const warehouseCatalog = defineComponent({
  key: 'warehouse-catalog',
  management: 'versioned',
  description: 'Tables, column types and row counts of the CSV warehouse in sources/warehouse.',
  async refresh({ projectRoot, statePath, signal, log }) {
    const state = await readWarehouseCatalog(projectRoot, signal);
    const columns = state.tables.reduce((sum, table) => sum + table.columns.length, 0);
    log(`${state.tables.length} tables, ${columns} columns`);
    await writeFile(statePath, `${JSON.stringify(state, null, 2)}\n`, { signal });
  },
});

/** Reads every table; throws an `InvalidSourceError` listing all problems. */
export async function readWarehouseCatalog(
  projectRoot: string,
  signal: AbortSignal,
): Promise<WarehouseCatalogState> {
  const files = await listSourceFiles(projectRoot, WAREHOUSE_FOLDER, '.csv', signal);
  const texts = await Promise.all(files.map((file) => readSourceText(projectRoot, file, signal)));
  const problems: SourceProblem[] = [];
  const tables: Table[] = [];
  files.forEach((file, index) => {
    const table = describeTable(file, texts[index] ?? '');
    if (Array.isArray(table)) problems.push(...table);
    else tables.push(table);
  });
  throwIfProblems(problems);
  return { schemaVersion: 1, tables };
}

/** One table from one CSV file: the header names the columns, every other record is a row. */
export function describeTable(file: string, text: string): Table | SourceProblem[] {
  const name = baseName(file);
  if (!TABLE_NAME.test(name)) {
    return [
      {
        file,
        message: `"${name}" is not a table name; use lowercase letters, digits and underscores`,
      },
    ];
  }
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvSyntaxError)
      return [{ file, line: error.line, message: error.message }];
    throw error;
  }
  const [header, ...rows] = records;
  if (!header)
    return [{ file, message: 'the file is empty; the first line must name the columns' }];
  const problems: SourceProblem[] = [];
  const seen = new Set<string>();
  for (const column of header.fields) {
    if (column.trim() === '') {
      problems.push({ file, line: header.line, message: 'a column has no name' });
    } else if (seen.has(column)) {
      problems.push({ file, line: header.line, message: `column "${column}" appears twice` });
    }
    seen.add(column);
  }
  for (const row of rows) {
    if (row.fields.length !== header.fields.length) {
      problems.push({
        file,
        line: row.line,
        message: `expected ${header.fields.length} fields, found ${row.fields.length}`,
      });
    }
  }
  if (problems.length > 0) return problems;
  const columns = header.fields.map((column, index) => ({
    name: column,
    ...inferColumnType(rows.map((row) => row.fields[index] ?? '')),
  }));
  return { name, source: file, rowCount: rows.length, columns };
}
