import { Unmappable } from './avro.js';

/**
 * Flink SQL types as Avro schemas, for the subjects a `CREATE TABLE` in a Kafka catalog registers:
 * the mapping Flink's own `AvroSchemaConverter.convertToSchema` uses for `avro-confluent` (legacy
 * timestamps: TIMESTAMP and TIMESTAMP_LTZ both as timestamp-millis), so that what Flink writes to
 * the topic is what the registry says. Reading the subject back (avro.ts) gives the same table, up
 * to Avro's coarser types (TINYINT and SMALLINT are ints, CHAR and VARCHAR strings, TIMESTAMP_LTZ
 * a TIMESTAMP).
 */

/** A column as DESCRIBE shows it: its type, and whether it may be null. */
export interface DescribedColumn {
  name: string;
  type: string;
  nullable: boolean;
}

type Avro = string | Record<string, unknown> | Avro[];

/** A cursor over a type string. */
class Reader {
  private at = 0;

  constructor(private readonly text: string) {}

  private skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++;
  }

  /** Whether the text at the cursor matches `re` (anchored with ^). */
  lookingAt(re: RegExp): boolean {
    this.skipSpace();
    return re.test(this.text.slice(this.at));
  }

  peek(): string {
    this.skipSpace();
    return this.text[this.at] ?? '';
  }

  /** A word (letters, digits, underscores). */
  word(): string {
    this.skipSpace();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.at));
    if (!m) throw new Unmappable(`cannot read the type '${this.text}'`);
    this.at += m[0].length;
    return m[0].toUpperCase();
  }

  /** A back-quoted name, or a plain one. */
  name(): string {
    return this.peek() === '`' ? this.quotedText() : this.word();
  }

  /** The text between the quote at the cursor and its closing one, the quote doubled standing for itself. */
  private quotedText(): string {
    const quote = this.text[this.at]!;
    let out = '';
    for (this.at++; this.at < this.text.length; this.at++) {
      if (this.text[this.at] === quote) {
        if (this.text[this.at + 1] === quote) {
          out += quote;
          this.at++;
        } else {
          this.at++;
          return out;
        }
      } else out += this.text[this.at];
    }
    throw new Unmappable(`cannot read the type '${this.text}'`);
  }

  expect(c: string): void {
    if (this.peek() !== c) throw new Unmappable(`cannot read the type '${this.text}'`);
    this.at++;
  }

  accept(c: string): boolean {
    if (this.peek() !== c) return false;
    this.at++;
    return true;
  }

  /** `(n)` or `(n, m)`. */
  numbers(): number[] {
    if (!this.accept('(')) return [];
    const out: number[] = [];
    do {
      this.skipSpace();
      const m = /^\d+/.exec(this.text.slice(this.at));
      if (!m) throw new Unmappable(`cannot read the type '${this.text}'`);
      out.push(Number(m[0]));
      this.at += m[0].length;
    } while (this.accept(','));
    this.expect(')');
    return out;
  }

  /** ` NOT NULL`, if it follows. */
  notNull(): boolean {
    const save = this.at;
    this.skipSpace();
    if (/^NOT\s+NULL\b/i.test(this.text.slice(this.at))) {
      this.at += /^NOT\s+NULL/i.exec(this.text.slice(this.at))![0].length;
      return true;
    }
    this.at = save;
    return false;
  }

  /** `'...'` after a ROW field: its description, which Avro keeps as `doc`. */
  description(): string | undefined {
    return this.peek() === "'" ? this.quotedText() : undefined;
  }

  done(): boolean {
    return this.peek() === '';
  }
}

function nullable(schema: Avro, isNullable: boolean): Avro {
  return isNullable ? ['null', schema] : schema;
}

/** Avro record and field names: letters, digits and underscores, not starting with a digit. */
function avroName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/** Record names given so far in one schema: Avro refuses a name defined twice. */
type Taken = Set<string>;

function uniqueName(taken: Taken, wanted: string): string {
  let name = wanted;
  for (let i = 2; taken.has(name); i++) name = `${wanted}_${i}`;
  taken.add(name);
  return name;
}

function convert(r: Reader, recordName: string, taken: Taken): Avro {
  const word = r.word();
  let schema: Avro;
  switch (word) {
    case 'CHAR':
    case 'VARCHAR':
      r.numbers();
      schema = 'string';
      break;
    case 'STRING':
      schema = 'string';
      break;
    case 'BOOLEAN':
      schema = 'boolean';
      break;
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'INTEGER':
      schema = 'int';
      break;
    case 'BIGINT':
      schema = 'long';
      break;
    case 'FLOAT':
      schema = 'float';
      break;
    case 'DOUBLE':
      if (r.lookingAt(/^PRECISION\b/i)) r.word();
      schema = 'double';
      break;
    case 'BINARY':
    case 'VARBINARY':
      r.numbers();
      schema = 'bytes';
      break;
    case 'BYTES':
      schema = 'bytes';
      break;
    case 'DECIMAL':
    case 'NUMERIC':
    case 'DEC': {
      const [precision = 10, scale = 0] = r.numbers();
      schema = { type: 'bytes', logicalType: 'decimal', precision, scale };
      break;
    }
    case 'DATE':
      schema = { type: 'int', logicalType: 'date' };
      break;
    case 'TIME': {
      r.numbers();
      schema = { type: 'int', logicalType: 'time-millis' };
      break;
    }
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ': {
      const [precision = 6] = r.numbers();
      if (word === 'TIMESTAMP' && r.lookingAt(/^WITH\b/i)) {
        // TIMESTAMP(p) WITH LOCAL TIME ZONE
        for (const w of ['WITH', 'LOCAL', 'TIME', 'ZONE']) if (r.word() !== w) throw new Unmappable('cannot read a TIMESTAMP type');
      }
      if (precision > 3) throw new Unmappable(`${word}(${precision}) is finer than Avro's timestamp-millis, which Flink's avro-confluent format writes: declare ${word}(3)`);
      schema = { type: 'long', logicalType: 'timestamp-millis' };
      break;
    }
    case 'ARRAY': {
      r.expect('<');
      const items = convert(r, `${recordName}_item`, taken);
      r.expect('>');
      schema = { type: 'array', items };
      break;
    }
    case 'MAP': {
      r.expect('<');
      const key = r.word();
      if (!['STRING', 'VARCHAR', 'CHAR'].includes(key)) throw new Unmappable(`a MAP with ${key} keys has no Avro type (Avro map keys are strings)`);
      r.numbers();
      r.notNull();
      r.expect(',');
      const values = convert(r, `${recordName}_value`, taken);
      r.expect('>');
      schema = { type: 'map', values };
      break;
    }
    case 'ROW': {
      r.expect('<');
      const name = uniqueName(taken, recordName);
      const fields: Record<string, unknown>[] = [];
      do {
        const field = r.name();
        if (avroName(field) !== field) throw new Unmappable(`the field '${field}' is not a valid Avro field name (letters, digits and underscores)`);
        if (fields.some((f) => f.name === field)) throw new Unmappable(`the field '${field}' appears twice`);
        const type = convert(r, `${name}_${field}`, taken);
        const doc = r.description();
        fields.push({ name: field, type, ...(Array.isArray(type) && type[0] === 'null' ? { default: null } : {}), ...(doc ? { doc } : {}) });
      } while (r.accept(','));
      r.expect('>');
      schema = { type: 'record', name, fields };
      break;
    }
    default:
      throw new Unmappable(`${word} has no Avro type that Flink's avro-confluent format writes`);
  }
  return nullable(schema, !r.notNull());
}

/** The Avro type of one Flink type string (`ROW<\`a\` INT NOT NULL>`, `DECIMAL(10, 2)`, …). */
export function avroOf(type: string, nullableType: boolean, recordName: string, taken: Taken = new Set()): Avro {
  const r = new Reader(type);
  const schema = convert(r, recordName, taken);
  if (!r.done()) throw new Unmappable(`cannot read the type '${type}'`);
  // DESCRIBE says a column's nullability in its own column; the type string itself carries none
  const bare = Array.isArray(schema) ? schema[1]! : schema;
  return nullable(bare, nullableType);
}

/** An Avro record of columns, as a registry subject's schema text. */
export function recordSchema(name: string, namespace: string, columns: DescribedColumn[]): string {
  const record = avroName(name);
  const taken: Taken = new Set([record]);
  const fields = columns.map((c) => {
    if (avroName(c.name) !== c.name) throw new Unmappable(`the column '${c.name}' is not a valid Avro field name (letters, digits and underscores)`);
    const type = avroOf(c.type, c.nullable, `${record}_${c.name}`, taken);
    return { name: c.name, type, ...(c.nullable ? { default: null } : {}) };
  });
  return JSON.stringify({ type: 'record', name: record, namespace, fields });
}
