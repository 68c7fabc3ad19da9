/**
 * Avro schemas as Flink SQL types, exactly as Flink's own `AvroSchemaConverter.convertToDataType`
 * (flink-avro 2.3, legacy timestamp mapping, the one `avro-confluent` uses) derives them, except
 * for the microsecond types that format then cannot read: the
 * `avro-confluent` format refuses a schema given in `avro-confluent.schema` unless the table's type
 * equals that derivation, nullability included. Anything the derivation cannot express in DDL is an
 * `Unmappable` with the reason.
 */

/** A schema Flink SQL cannot hold, and why. */
export class Unmappable extends Error {}

/** One column of a table. */
export interface Column {
  name: string;
  /** Flink SQL type, e.g. `ROW<\`a\` INT NOT NULL> NOT NULL`. */
  type: string;
}

type Avro = string | AvroObject | Avro[];
interface AvroObject {
  type: Avro;
  name?: string;
  namespace?: string;
  fields?: { name: string; type: Avro }[];
  items?: Avro;
  values?: Avro;
  symbols?: string[];
  size?: number;
  logicalType?: string;
  precision?: number;
  scale?: number;
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** A Flink identifier in back quotes. */
export function quoted(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** Named Avro types seen so far, by full name (and by short name, as Avro resolves them). */
class Names {
  private readonly named = new Map<string, AvroObject>();
  private readonly open = new Set<AvroObject>();

  define(schema: AvroObject, namespace: string | undefined): string | undefined {
    if (!schema.name) return namespace;
    const full = schema.name.includes('.') ? schema.name : schema.namespace ?? namespace ? `${schema.namespace ?? namespace}.${schema.name}` : schema.name;
    this.named.set(full, schema);
    const dot = full.lastIndexOf('.');
    return dot > 0 ? full.slice(0, dot) : schema.namespace ?? namespace;
  }

  resolve(name: string, namespace: string | undefined): AvroObject {
    const found = this.named.get(name) ?? (namespace ? this.named.get(`${namespace}.${name}`) : undefined);
    if (!found) throw new Unmappable(`the schema refers to the type '${name}', which it does not define`);
    return found;
  }

  /** Refuses a record that contains itself: Flink's types are trees. */
  enter(schema: AvroObject): void {
    if (this.open.has(schema)) throw new Unmappable(`the record '${schema.name}' is recursive, which Flink SQL types cannot express`);
    this.open.add(schema);
  }

  leave(schema: AvroObject): void {
    this.open.delete(schema);
  }
}

function integerOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** A decimal logical type Avro accepts (otherwise Avro ignores it, and so does Flink). */
function decimal(schema: AvroObject): string | undefined {
  if (schema.logicalType !== 'decimal') return undefined;
  const precision = integerOf(schema.precision);
  const scale = integerOf(schema.scale) ?? 0;
  if (precision === undefined || precision < 1 || scale < 0 || scale > precision) return undefined;
  if (schema.type === 'fixed' && schema.size !== undefined && precision > Math.floor(Math.log10(2) * (8 * schema.size - 1))) return undefined;
  if (precision > 38) throw new Unmappable(`decimal(${precision}, ${scale}) is wider than Flink's DECIMAL (at most 38 digits)`);
  return `DECIMAL(${precision}, ${scale})`;
}

function notNull(type: string): string {
  return `${type} NOT NULL`;
}

function convert(schema: Avro, names: Names, namespace: string | undefined): string {
  if (Array.isArray(schema)) {
    const branches = schema;
    if (branches.length === 2 && isNull(branches[0]!)) return nullable(convert(branches[1]!, names, namespace));
    if (branches.length === 2 && isNull(branches[1]!)) return nullable(convert(branches[0]!, names, namespace));
    if (branches.length === 1) return convert(branches[0]!, names, namespace);
    throw new Unmappable(`a union of ${branches.map(describe).join(', ')} has no Flink SQL type (only a type or null maps)`);
  }
  if (typeof schema === 'string') {
    return PRIMITIVES.has(schema) ? primitive(schema, {}) : convert(names.resolve(schema, namespace), names, namespace);
  }
  const type = schema.type;
  if (typeof type !== 'string' || !['record', 'error', 'enum', 'array', 'map', 'fixed'].includes(type)) {
    // `{"type": "long", "logicalType": ...}` or `{"type": {...}}`: the type itself, annotated
    if (typeof type === 'string' && PRIMITIVES.has(type)) return primitive(type, schema);
    return convert(type, names, namespace);
  }
  switch (type) {
    case 'record':
    case 'error':
      return notNull(`ROW<${fieldsOf(schema, names, namespace).map((c) => `${quoted(c.name)} ${c.type}`).join(', ')}>`);
    case 'enum':
      names.define(schema, namespace);
      return notNull('STRING');
    case 'array':
      return notNull(`ARRAY<${convert(schema.items!, names, namespace)}>`);
    case 'map':
      return notNull(`MAP<STRING NOT NULL, ${convert(schema.values!, names, namespace)}>`);
    default: {
      names.define(schema, namespace);
      return notNull(decimal(schema) ?? `VARBINARY(${integerOf(schema.size) ?? 1})`);
    }
  }
}

/** A record's fields as columns. */
function fieldsOf(record: AvroObject, names: Names, namespace: string | undefined): Column[] {
  const inner = names.define(record, namespace);
  names.enter(record);
  const columns = (record.fields ?? []).map((f) => ({ name: f.name, type: convert(f.type, names, inner) }));
  names.leave(record);
  if (columns.length === 0) throw new Unmappable(`the record '${record.name}' has no fields, and a Flink ROW needs one`);
  return columns;
}

function primitive(type: string, schema: Partial<AvroObject>): string {
  const logical = schema.logicalType;
  switch (type) {
    case 'null':
      throw new Unmappable('a field that can only be null has no Flink SQL type');
    case 'boolean':
      return notNull('BOOLEAN');
    case 'int':
      if (logical === 'date') return notNull('DATE');
      if (logical === 'time-millis') return notNull('TIME(3)');
      return notNull('INT');
    case 'long':
      if (logical === 'timestamp-millis') return notNull('TIMESTAMP(3)');
      // Flink derives TIMESTAMP(6) and TIME(6) for these, and then avro-confluent (2.3) refuses its own
      // derivation: it converts the table type back to Avro, which it can only do to milliseconds
      if (logical === 'timestamp-micros' || logical === 'time-micros') {
        throw new Unmappable(`${logical} values are beyond Flink's avro-confluent format, which reads timestamps and times to the millisecond only`);
      }
      return notNull('BIGINT');
    case 'float':
      return notNull('FLOAT');
    case 'double':
      return notNull('DOUBLE');
    case 'bytes':
      return notNull(decimal({ type: 'bytes', ...schema } as AvroObject) ?? 'BYTES');
    default:
      return notNull('STRING');
  }
}

function isNull(schema: Avro): boolean {
  return schema === 'null' || (typeof schema === 'object' && !Array.isArray(schema) && schema.type === 'null');
}

function nullable(type: string): string {
  return type.endsWith(' NOT NULL') ? type.slice(0, -' NOT NULL'.length) : type;
}

function describe(schema: Avro): string {
  if (typeof schema === 'string') return schema;
  if (Array.isArray(schema)) return 'union';
  return typeof schema.type === 'string' ? (schema.name ?? schema.type) : 'a nested type';
}

/** Parses a registry's schema text. */
export function parseAvro(text: string): Avro {
  try {
    return JSON.parse(text) as Avro;
  } catch {
    // a bare primitive name such as `string` is valid Avro schema text too
    if (PRIMITIVES.has(text.trim())) return text.trim();
    throw new Unmappable('the schema is not valid Avro JSON');
  }
}

/** The Flink SQL type of an Avro schema, as `avro-confluent` requires it. */
export function flinkType(text: string): string {
  return convert(parseAvro(text), new Names(), undefined);
}

/**
 * The columns of an Avro record schema: its fields, each with its Flink type. A schema that is not
 * a record has no columns of its own (undefined).
 */
export function recordColumns(text: string): Column[] | undefined {
  const schema = parseAvro(text);
  const record = typeof schema === 'object' && !Array.isArray(schema) && (schema.type === 'record' || schema.type === 'error') ? schema : undefined;
  return record && fieldsOf(record, new Names(), undefined);
}
