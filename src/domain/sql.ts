/** What drey knows of a statement from its text alone, before Flink has seen it. */
export interface SqlShape {
  /** The leading keyword, upper-case (SELECT, INSERT, CREATE, ...). */
  keyword: string;
  /** Whether the statement answers with rows that `/results` serves. */
  returnsRows: boolean;
  /** Interactive statements return rows to the client; the rest run detached. */
  mode: 'interactive' | 'detached';
}

const ROW_KEYWORDS = new Set(['SELECT', 'WITH', 'VALUES', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'TABLE']);

/** Removes leading whitespace, comments and opening parentheses. */
function skipPreamble(sql: string): string {
  let rest = sql;
  for (;;) {
    const trimmed = rest.replace(/^[\s(]+/, '');
    if (trimmed.startsWith('--')) {
      const end = trimmed.indexOf('\n');
      rest = end === -1 ? '' : trimmed.slice(end + 1);
    } else if (trimmed.startsWith('/*')) {
      const end = trimmed.indexOf('*/');
      rest = end === -1 ? '' : trimmed.slice(end + 2);
    } else {
      return trimmed;
    }
  }
}

/** Classifies a statement by its leading keyword. */
export function sqlShape(sql: string): SqlShape {
  const keyword = (/^[A-Za-z]+/.exec(skipPreamble(sql))?.[0] ?? '').toUpperCase();
  const returnsRows = ROW_KEYWORDS.has(keyword);
  return { keyword, returnsRows, mode: keyword === 'SELECT' || keyword === 'WITH' || keyword === 'VALUES' || keyword === 'TABLE' ? 'interactive' : 'detached' };
}
