/**
 * drey's reading of one CMF Statement's SQL text before Flink sees it: how it runs, whether it
 * changes the environment's catalog, and whether drey refuses it. The lexer follows the token rules
 * of Flink 2.3's parser (Calcite's Parser.jj in the back-tick quoting state), so that a `;` inside a
 * literal, an identifier, a comment or a hint never splits the text. The forms follow the statement
 * methods of flink-sql-parser (Parser.tdd, parserImpls.ftl).
 */

/** How drey executes a statement. */
export type SqlClass = 'query' | 'insert' | 'metadata' | 'ddl';

/** What drey knows of a statement from its text alone, before Flink has seen it. */
export interface SqlShape {
  /** The leading keyword, upper-case (SELECT, INSERT, CREATE, ...); empty when the text starts with no word. */
  keyword: string;
  /** CMF's upper-snake kind for `status.traits.sqlKind` (SELECT, INSERT_INTO, SHOW_TABLES, CREATE_TABLE, ...). */
  sqlKind: string;
  /** How drey runs it: a job whose rows are paged, a detached job, or an answer given inline. */
  sqlClass: SqlClass;
  /** Whether the statement answers with rows: queries, SHOW, DESCRIBE, EXPLAIN, and SET alone. */
  returnsRows: boolean;
  /** Which environment `statementDefaults` apply: queries are interactive, everything else detached. */
  mode: 'interactive' | 'detached';
  /** Whether it creates, alters or drops a catalog object, so later sessions must replay it; never for a refused text. */
  changesCatalog: boolean;
  /** Why drey refuses the text without sending it to Flink, for `status.detail`; absent when drey runs it. */
  refused?: string;
  /** The one statement to send to Flink, without trailing semicolons, whitespace and comments; `BEGIN STATEMENT SET; ...; END` becomes `EXECUTE STATEMENT SET BEGIN ...; END`. */
  text: string;
}

// ---------------------------------------------------------------------------------------------
// Lexer

export type TokenType = 'word' | 'number' | 'string' | 'quoted' | 'symbol' | 'semicolon' | 'hintStart' | 'hintEnd';

export interface Token {
  type: TokenType;
  /** The token's text; upper-cased for words. */
  value: string;
  start: number;
  end: number;
  /** Inside an optimizer hint `/*+ ... *\/` (delimiters included): hints take no part in classification. */
  hint: boolean;
}

interface Lexed {
  tokens: Token[];
  /** A literal, quoted identifier, comment or hint that runs to the end of the text. */
  unterminated?: { what: string; at: number };
}

/** Calcite's whitespace: nothing else separates tokens (a no-break space is a lexical error in Flink). */
const WHITESPACE = new Set([' ', '\t', '\n', '\r', '\f']);
/** Calcite's LETTER, which starts an identifier; an identifier continues with letters and digits. */
const LETTER = /[$A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u1fff\u3040-\u318f\u3300-\u337f\u3400-\u3d2d\u4e00-\u9fff\uf900-\ufaff]/;
const WORD = /[$0-9A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u1fff\u3040-\u318f\u3300-\u337f\u3400-\u3d2d\u4e00-\u9fff\uf900-\ufaff]*/y;
/** Numeric literals, so that `1E'x'` reads as the number 1 and the escaped string E'x', as in Flink. */
const NUMBER = /(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;
const QUOTES = new Map<string, { type: TokenType; what: string }>([
  ["'", { type: 'string', what: 'string literal' }],
  ['`', { type: 'quoted', what: 'quoted identifier' }],
  // Flink reads `"` as a lone symbol that no statement accepts; drey still keeps a `;` inside "..." whole.
  ['"', { type: 'quoted', what: 'double-quoted text' }],
]);
const DIGIT = /[0-9]/;

/** Where a line comment (`--` or `//`, both comments in Calcite) ends: at the next line break. */
function lineEnd(sql: string, from: number): number {
  let i = from;
  while (i < sql.length && sql[i] !== '\n' && sql[i] !== '\r') i += 1;
  return i;
}

/**
 * Where the literal whose quote is at `open` ends. The quote doubled stands for itself; with
 * `backslash` (E'...' strings), `\` escapes any character. Like Flink's lexer this takes the
 * longest complete literal, so `'a''` is the literal 'a' followed by a lone quote.
 */
function literalEnd(sql: string, open: number, backslash: boolean): number | undefined {
  const quote = sql[open];
  let end: number | undefined;
  for (let i = open + 1; i < sql.length; i += 1) {
    const c = sql[i];
    if (backslash && c === '\\') {
      i += 1;
    } else if (c === quote) {
      end = i + 1;
      if (sql[i + 1] !== quote) return end;
      i += 1;
    }
  }
  return end;
}

/** The text's tokens as Flink's lexer reads them (comments and whitespace dropped), as far as it lexes. */
export function sqlTokens(sql: string): Token[] {
  return lex(sql).tokens;
}

/** Splits the text into tokens, dropping whitespace and comments. */
function lex(sql: string): Lexed {
  const tokens: Token[] = [];
  let hintDepth = 0;
  let hintAt = 0;
  const add = (type: TokenType, start: number, end: number): void => {
    const text = sql.slice(start, end);
    tokens.push({ type, value: type === 'word' ? text.toUpperCase() : text, start, end, hint: hintDepth > 0 });
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1] ?? '';
    const quote = QUOTES.get(c);
    if (WHITESPACE.has(c)) {
      i += 1;
    } else if ((c === '-' && next === '-') || (c === '/' && next === '/')) {
      i = lineEnd(sql, i);
    } else if (c === '/' && next === '*' && sql[i + 2] === '+') {
      // A hint's body is lexed like any text (a '*/' inside a literal does not end it).
      if (hintDepth === 0) hintAt = i;
      hintDepth += 1;
      add('hintStart', i, i + 3);
      i += 3;
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      if (close === -1) return { tokens, unterminated: { what: 'comment', at: i } };
      i = close + 2;
    } else if (c === '*' && next === '/' && hintDepth > 0) {
      add('hintEnd', i, i + 2);
      hintDepth -= 1;
      i += 2;
    } else if (quote !== undefined) {
      const end = literalEnd(sql, i, false);
      if (end === undefined) return { tokens, unterminated: { what: quote.what, at: i } };
      add(quote.type, i, end);
      i = end;
    } else if (LETTER.test(c)) {
      WORD.lastIndex = i + 1;
      WORD.exec(sql);
      const end = WORD.lastIndex;
      if (end === i + 1 && (c === 'E' || c === 'e') && next === "'") {
        const close = literalEnd(sql, i + 1, true);
        if (close === undefined) return { tokens, unterminated: { what: 'string literal', at: i } };
        add('string', i, close);
        i = close;
      } else {
        add('word', i, end);
        i = end;
      }
    } else if (DIGIT.test(c) || (c === '.' && DIGIT.test(next))) {
      NUMBER.lastIndex = i;
      NUMBER.exec(sql);
      const end = NUMBER.lastIndex;
      add('number', i, end);
      i = end;
    } else {
      const width = (sql.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
      add(c === ';' ? 'semicolon' : 'symbol', i, i + width);
      i += width;
    }
  }
  if (hintDepth > 0) return { tokens, unterminated: { what: 'hint', at: hintAt } };
  return { tokens };
}

// ---------------------------------------------------------------------------------------------
// Statements: `;`-separated pieces, with a statement set's pieces joined into one statement

/** The text between two separators. */
interface Piece {
  tokens: Token[];
  /** Where the piece's stretch of text begins: just after the previous separator. */
  from: number;
}

/** One statement: one piece, or every piece of a statement set. */
interface Statement {
  pieces: Piece[];
  /** `BEGIN STATEMENT SET; ...; END`, or `... STATEMENT SET BEGIN ...; END` (EXECUTE, EXPLAIN, COMPILE PLAN). */
  set?: 'begin' | 'block';
  /** Whether a statement set found its END. */
  closed: boolean;
}

/** The tokens that decide what a piece is: everything but hints. */
function significant(piece: Piece): Token[] {
  return piece.tokens.filter((t) => !t.hint);
}

function wordsOf(tokens: Token[]): string {
  return tokens.map((t) => (t.type === 'word' ? t.value : ' ')).join(' ');
}

/** Splits the tokens at the semicolons outside hints; empty pieces (`;;`) vanish. */
function pieces(tokens: Token[]): Piece[] {
  const out: Piece[] = [];
  let current: Token[] = [];
  let from = 0;
  for (const token of tokens) {
    if (token.type === 'semicolon' && !token.hint) {
      if (current.length > 0) out.push({ tokens: current, from });
      current = [];
      from = token.end;
    } else {
      current.push(token);
    }
  }
  if (current.length > 0) out.push({ tokens: current, from });
  return out;
}

/** Whether a piece opens a statement set, whose inner semicolons do not separate statements. */
function setOpening(piece: Piece): Statement['set'] {
  const words = wordsOf(significant(piece));
  if (words === 'BEGIN STATEMENT SET') return 'begin';
  return ` ${words} `.includes(' STATEMENT SET BEGIN ') ? 'block' : undefined;
}

/** Groups pieces into statements: a statement set runs to the first piece that starts with END. */
function statements(all: Piece[]): Statement[] {
  const out: Statement[] = [];
  for (let i = 0; i < all.length; i += 1) {
    const set = setOpening(all[i]!);
    if (set === undefined) {
      out.push({ pieces: [all[i]!], closed: true });
      continue;
    }
    let end = i + 1;
    while (end < all.length && significant(all[end]!)[0]?.value !== 'END') end += 1;
    out.push({ pieces: all.slice(i, end + 1), set, closed: end < all.length });
    i = end;
  }
  return out;
}

/** What is wrong with a statement set's structure, if anything; Flink accepts only INSERTs in one. */
function setProblem(statement: Statement): string | undefined {
  if (statement.set === undefined) return undefined;
  if (!statement.closed) return 'The statement set is not closed: end each INSERT with ";" and the set with END';
  const last = significant(statement.pieces.at(-1)!);
  if (last.length > 1) return 'Nothing may follow END in a statement set';
  const inner = statement.pieces.slice(1, -1).map(significant);
  if (statement.set === 'block') {
    const opening = significant(statement.pieces[0]!);
    const begin = opening.findIndex((t, k) => t.value === 'BEGIN' && opening[k - 1]?.value === 'SET');
    if (begin < opening.length - 1) inner.unshift(opening.slice(begin + 1));
  }
  if (inner.length === 0) return 'The statement set holds no INSERT statement';
  const other = inner.find((tokens) => tokens[0]?.value !== 'INSERT' && tokens[0]?.value !== 'UPSERT');
  return other === undefined ? undefined : `A statement set may hold only INSERT statements; found ${other[0]!.value}`;
}

// ---------------------------------------------------------------------------------------------
// Forms

/** One statement form Flink 2.3 parses, by its leading keywords. */
interface Form {
  /** The leading keywords, modifiers left out (TEMPORARY, SYSTEM, OR REPLACE, EXTENDED, USER, FULL). */
  words: string[];
  sqlClass: SqlClass;
  /** CMF's name for it: the words joined by `_` unless given. */
  kind: string;
  /** Answers rows; 'alone' when only the bare keyword does (SET lists the session's properties). */
  rows: boolean | 'alone';
  /** Creates, alters or drops a catalog object. */
  catalog: boolean;
  /** The last word names a kind of object only when something follows (DESCRIBE CATALOG c, but DESCRIBE catalog). */
  named: boolean;
  /** CREATE TABLE: `AS <query>` at the top level makes it CTAS. */
  ctas: boolean;
  refuse?: string;
}

function form(path: string, sqlClass: SqlClass, options: Partial<Omit<Form, 'words' | 'sqlClass'>> = {}): Form {
  const words = path.split(' ');
  return { words, sqlClass, kind: words.join('_'), rows: false, catalog: false, named: false, ctas: false, ...options };
}

const CTAS =
  'CREATE TABLE ... AS SELECT is not supported, as in CMF: create the table with CREATE TABLE, then fill it with INSERT INTO ... SELECT';
const RTAS =
  'CREATE OR REPLACE TABLE ... AS SELECT and REPLACE TABLE ... AS SELECT are not supported, as in CMF: drop and create the table, then fill it with INSERT INTO ... SELECT';
const MATERIALIZED =
  'Materialized tables are not supported: Flink refreshes them through a workflow scheduler, which drey does not run';
const STOP_JOB =
  'STOP JOB is not allowed: drey owns the jobs of its statements; stop the statement that runs the job by setting its spec.stopped to true';
const CALL =
  'CALL is not supported: a stored procedure runs catalog code inside the SQL Gateway that all statements share, and may start jobs that no statement tracks';
const ANALYZE = 'ANALYZE TABLE is not supported: Flink computes the statistics with a batch job that no statement tracks';
const ROW_LEVEL =
  'DELETE and UPDATE are not supported: Flink runs row-level changes only in batch mode, and only on connectors that support them';
const PLAN =
  "COMPILE PLAN and EXECUTE PLAN are not supported: the plan files live on the SQL Gateway's filesystem, which statements cannot reach; submit the INSERT itself";
const END = 'END closes a statement set, but no BEGIN STATEMENT SET opens one';

const QUERIES = ['SELECT', 'WITH', 'VALUES', 'TABLE'];
const CATALOG_OBJECTS = ['TABLE', 'VIEW', 'FUNCTION', 'DATABASE', 'CATALOG', 'MODEL', 'CONNECTION'];
const SHOWN = [
  'CATALOGS', 'CURRENT CATALOG', 'CURRENT DATABASE', 'DATABASES', 'TABLES', 'VIEWS', 'MATERIALIZED TABLES', 'COLUMNS',
  'FUNCTIONS', 'PROCEDURES', 'MODULES', 'JARS', 'JOBS', 'PARTITIONS', 'MODELS', 'CONNECTIONS', 'CREATE TABLE',
  'CREATE VIEW', 'CREATE CATALOG', 'CREATE MATERIALIZED TABLE', 'CREATE MODEL', 'CREATE CONNECTION',
];
const DESCRIBED = ['CATALOG', 'DATABASE', 'FUNCTION', 'MODEL', 'JOB', 'CONNECTION'];

/** Every form, longest first so that the most specific one matches. */
const FORMS: Form[] = [
  // Queries: a job whose rows /results pages through.
  ...QUERIES.flatMap((w) => [form(w, 'query', { kind: 'SELECT' }), form(`EXECUTE ${w}`, 'query', { kind: 'SELECT' })]),
  // Inserts: a detached job.
  form('INSERT', 'insert'),
  form('INSERT INTO', 'insert'),
  form('INSERT OVERWRITE', 'insert'),
  form('UPSERT INTO', 'insert'),
  form('EXECUTE INSERT INTO', 'insert', { kind: 'INSERT_INTO' }),
  form('EXECUTE INSERT OVERWRITE', 'insert', { kind: 'INSERT_OVERWRITE' }),
  form('EXECUTE STATEMENT SET', 'insert', { kind: 'STATEMENT_SET' }),
  form('BEGIN STATEMENT SET', 'insert', { kind: 'STATEMENT_SET' }),
  form('EXECUTE PLAN', 'insert', { refuse: PLAN }),
  form('COMPILE AND EXECUTE PLAN', 'insert', { refuse: PLAN }),
  form('COMPILE PLAN', 'metadata', { refuse: PLAN }),
  form('DELETE FROM', 'insert', { refuse: ROW_LEVEL }),
  form('UPDATE', 'insert', { refuse: ROW_LEVEL }),
  // Metadata: answered inline from the session.
  form('SHOW', 'metadata', { rows: true }),
  ...SHOWN.map((w) => form(`SHOW ${w}`, 'metadata', { rows: true })),
  ...['DESCRIBE', 'DESC'].flatMap((d) => [
    form(d, 'metadata', { rows: true, kind: 'DESCRIBE' }),
    ...DESCRIBED.map((o) => form(`${d} ${o}`, 'metadata', { rows: true, named: true, kind: `DESCRIBE_${o}` })),
  ]),
  form('EXPLAIN', 'metadata', { rows: true }),
  form('USE', 'metadata'),
  form('USE CATALOG', 'metadata', { named: true }),
  form('USE MODULES', 'metadata', { named: true }),
  form('SET', 'metadata', { rows: 'alone' }),
  form('RESET', 'metadata'),
  form('LOAD MODULE', 'metadata'),
  form('UNLOAD MODULE', 'metadata'),
  form('ADD JAR', 'metadata'),
  form('REMOVE JAR', 'metadata'),
  form('STOP JOB', 'metadata', { refuse: STOP_JOB }),
  form('CALL', 'metadata', { refuse: CALL }),
  form('END', 'metadata', { refuse: END }),
  // DDL: answered inline; CREATE/ALTER/DROP of a catalog object is replayed in later sessions.
  ...['CREATE', 'ALTER', 'DROP'].flatMap((verb) => [
    form(verb, 'ddl'),
    ...CATALOG_OBJECTS.map((o) => form(`${verb} ${o}`, 'ddl', { catalog: true, ctas: verb === 'CREATE' && o === 'TABLE' })),
    form(`${verb} MATERIALIZED TABLE`, 'ddl', { refuse: MATERIALIZED }),
  ]),
  form('REPLACE TABLE', 'insert', { kind: 'REPLACE_TABLE_AS', refuse: RTAS }),
  form('TRUNCATE TABLE', 'ddl'),
  form('ANALYZE TABLE', 'ddl', { refuse: ANALYZE }),
].sort((a, b) => b.words.length - a.words.length);

const LONGEST_FORM = Math.max(...FORMS.map((f) => f.words.length));
/** Words that qualify a statement without changing its form. */
const MODIFIERS = new Set(['TEMPORARY', 'SYSTEM', 'EXTENDED', 'USER', 'FULL']);

/** The leading words of a statement and where they stand among its tokens. */
interface Head {
  words: { value: string; index: number }[];
  /** `OR REPLACE` came among them. */
  replace: boolean;
}

/** Reads the leading words, past opening parentheses, modifiers, and `OR REPLACE` / `OR ALTER`. */
function headOf(tokens: Token[]): Head {
  const head: Head = { words: [], replace: false };
  for (let i = 0; i < tokens.length && head.words.length < LONGEST_FORM; i += 1) {
    const token = tokens[i]!;
    if (token.type === 'symbol' && token.value === '(') continue;
    if (token.type !== 'word') break;
    const next = tokens[i + 1];
    if (token.value === 'OR' && next?.type === 'word' && (next.value === 'REPLACE' || next.value === 'ALTER')) {
      head.replace ||= next.value === 'REPLACE';
      i += 1;
    } else if (!MODIFIERS.has(token.value)) {
      head.words.push({ value: token.value, index: i });
    }
  }
  return head;
}

function matches(f: Form, head: Head, tokens: Token[]): boolean {
  if (!f.words.every((word, k) => head.words[k]?.value === word)) return false;
  return !f.named || head.words[f.words.length - 1]!.index < tokens.length - 1;
}

/** Whether `AS` stands outside every parenthesis after `from`: CREATE TABLE ... AS <query>. */
function hasTopLevelAs(tokens: Token[], from: number): boolean {
  let depth = 0;
  for (const token of tokens.slice(from)) {
    if (token.value === '(') depth += 1;
    else if (token.value === ')') depth -= 1;
    else if (depth === 0 && token.type === 'word' && token.value === 'AS') return true;
  }
  return false;
}

/** A statement's reading, before the checks that concern the whole text. */
interface Reading {
  keyword: string;
  kind: string;
  sqlClass: SqlClass;
  rows: boolean;
  catalog: boolean;
  refuse?: string;
}

/** Reads one statement's form from its first piece. */
function read(tokens: Token[]): Reading {
  const head = headOf(tokens);
  const keyword = head.words[0]?.value ?? '';
  const f = FORMS.find((candidate) => matches(candidate, head, tokens));
  if (f === undefined) return { keyword, kind: keyword || 'UNKNOWN', sqlClass: 'metadata', rows: false, catalog: false };
  const after = head.words[f.words.length - 1]!.index + 1;
  if (f.ctas && (head.replace || hasTopLevelAs(tokens, after))) {
    return head.replace
      ? { keyword, kind: 'REPLACE_TABLE_AS', sqlClass: 'insert', rows: false, catalog: false, refuse: RTAS }
      : { keyword, kind: 'CREATE_TABLE_AS', sqlClass: 'insert', rows: false, catalog: false, refuse: CTAS };
  }
  const rows = f.rows === 'alone' ? after === tokens.length : f.rows;
  return { keyword, kind: f.kind, sqlClass: f.sqlClass, rows, catalog: f.catalog, refuse: f.refuse };
}

// ---------------------------------------------------------------------------------------------
// The shape

/** The text without trailing whitespace and semicolons, for a text drey could not split. */
function trimEnd(sql: string): string {
  let end = sql.length;
  while (end > 0 && (/\s/.test(sql[end - 1]!) || sql[end - 1] === ';')) end -= 1;
  return sql.slice(0, end);
}

/** Where `at` stands, as an editor counts lines and columns from 1. */
function position(sql: string, at: number): string {
  const before = sql.slice(0, at);
  const lines = before.split(/\r\n|\r|\n/);
  return `line ${lines.length}, column ${lines.at(-1)!.length + 1}`;
}

/** The text to send for the statements found: from the first one's start to the last one's last token. */
function textOf(sql: string, found: Statement[]): string {
  const first = found[0];
  if (first === undefined) return '';
  const start = first.pieces[0]!.from;
  const lastPiece = found.at(-1)!.pieces.at(-1)!;
  if (found.length > 1 || first.set !== 'begin' || !first.closed) return sql.slice(start, lastPiece.tokens.at(-1)!.end);
  // The gateway runs one statement per call, so the script form becomes the single-statement form.
  const begin = significant(first.pieces[0]!)[0]!;
  const end = significant(lastPiece)[0]!;
  return `${sql.slice(start, begin.start)}EXECUTE STATEMENT SET BEGIN${sql.slice(first.pieces[1]!.from, end.start)}END`;
}

/** Classifies one CMF Statement's SQL text, and says why drey refuses it when it does. */
export function sqlShape(sql: string): SqlShape {
  const { tokens, unterminated } = lex(sql);
  const found = statements(pieces(tokens));
  const first = found[0];
  const reading: Reading =
    first === undefined
      ? { keyword: '', kind: '', sqlClass: 'metadata', rows: false, catalog: false }
      : read(significant(first.pieces[0]!));
  let refused: string | undefined;
  if (unterminated !== undefined) {
    refused = `The SQL text has an unterminated ${unterminated.what} starting at ${position(sql, unterminated.at)}`;
  } else if (first === undefined) {
    refused = 'The SQL text is empty: it holds only comments, whitespace or semicolons';
  } else if (found.length > 1) {
    refused = `Only one SQL statement is allowed per statement; found ${found.length}: submit each as its own statement`;
  } else {
    refused = reading.refuse ?? setProblem(first);
  }
  const shape: SqlShape = {
    keyword: reading.keyword,
    sqlKind: reading.kind,
    sqlClass: reading.sqlClass,
    returnsRows: reading.sqlClass === 'query' || reading.rows,
    mode: reading.sqlClass === 'query' ? 'interactive' : 'detached',
    changesCatalog: refused === undefined && reading.catalog,
    text: unterminated !== undefined ? trimEnd(sql) : textOf(sql, found),
  };
  if (refused !== undefined) shape.refused = refused;
  return shape;
}
