/** RFC 4180 CSV: comma-separated, CRLF line ends, fields quoted when they hold a comma, quote or line break. */

const quote = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  const text = value instanceof Date ? value.toISOString() : Array.isArray(value) ? value.join(';') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** Render `rows` as CSV with a header line of `columns`, in that order. */
export function toCsv<T extends object>(columns: ReadonlyArray<keyof T & string>, rows: ReadonlyArray<T>): string {
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((column) => quote(row[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
