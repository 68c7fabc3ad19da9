/**
 * A client of the Confluent Schema Registry REST API (and of servers that speak it, such as
 * Apicurio's `ccompat` API): the calls a Kafka catalog needs, configured from a catalog's
 * `srInstance.connectionConfig` with the client property names Confluent's serializers use.
 */

/** A registry that failed or refused; `status` 0 when it did not answer. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The latest version of a subject. */
export interface SubjectSchema {
  subject: string;
  id: number;
  version: number;
  /** AVRO, JSON or PROTOBUF (the registry leaves it out for Avro). */
  schemaType: string;
  schema: string;
  references: unknown[];
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Connection settings for a registry, from Confluent client properties. */
export interface RegistryConnection {
  url: string;
  headers: Record<string, string>;
}

/**
 * Reads `schema.registry.url` and the credentials (`basic.auth.user.info` with
 * `basic.auth.credentials.source` USER_INFO, or `bearer.auth.token`) of a connection config.
 */
export function registryConnection(config: Record<string, string>): RegistryConnection {
  const given = config['schema.registry.url']?.split(',')[0]?.trim();
  if (!given) throw new RegistryError(0, 'its connectionConfig has no schema.registry.url');
  const headers: Record<string, string> = {};
  // credentials in the URL (basic.auth.credentials.source URL) go into the header, never into a message
  let url = given;
  try {
    const parsed = new URL(given);
    if (parsed.username || parsed.password) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
      url = parsed.toString();
    }
  } catch {
    throw new RegistryError(0, 'its schema.registry.url is not a URL');
  }
  const userInfo = config['basic.auth.user.info'] ?? config['schema.registry.basic.auth.user.info'];
  if (userInfo) headers.authorization = `Basic ${Buffer.from(userInfo).toString('base64')}`;
  const token = config['bearer.auth.token'];
  if (token) headers.authorization = `Bearer ${token}`;
  return { url: url.replace(/\/+$/, ''), headers };
}

/** What a registry said in an error body, or its status line. */
async function why(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') return `HTTP ${res.status}: ${body.message}`;
  } catch {
    // not JSON
  }
  return `HTTP ${res.status}`;
}

/** One registry. */
export class SchemaRegistryClient {
  constructor(
    private readonly connection: RegistryConnection,
    private readonly timeoutMs = 10_000,
  ) {}

  get url(): string {
    return this.connection.url;
  }

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.connection.url}${path}`, {
        method,
        headers: { accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }), ...this.connection.headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
      const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new RegistryError(0, `the schema registry at ${this.connection.url} cannot be reached (${reason})`);
    }
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(res.status, `the schema registry at ${this.connection.url} refused the credentials (${await why(res)})`);
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown, missing?: T): Promise<T> {
    const res = await this.call(method, path, body);
    if (res.status === 404 && missing !== undefined) {
      await res.body?.cancel();
      return missing;
    }
    if (!res.ok) throw new RegistryError(res.status, `the schema registry at ${this.connection.url} answered ${method} ${path} with ${await why(res)}`);
    try {
      return (await res.json()) as T;
    } catch {
      throw new RegistryError(res.status, `the schema registry at ${this.connection.url} answered ${method} ${path} with a body that is not JSON: is ${this.connection.url} its Confluent-compatible API?`);
    }
  }

  private shapeError(path: string): RegistryError {
    return new RegistryError(200, `the schema registry at ${this.connection.url} answered GET ${path} with a body of the wrong shape: is ${this.connection.url} its Confluent-compatible API?`);
  }

  /** Every subject. */
  async subjects(): Promise<string[]> {
    const subjects = await this.json<unknown>('GET', '/subjects');
    if (!Array.isArray(subjects) || !subjects.every((s) => typeof s === 'string')) throw this.shapeError('/subjects');
    return subjects;
  }

  /** A subject's latest version, or null when it has none. */
  async latest(subject: string): Promise<SubjectSchema | null> {
    const found = await this.json<Partial<SubjectSchema> | null>('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`, undefined, null);
    if (!found) return null;
    if (typeof found !== 'object' || typeof found.schema !== 'string') throw this.shapeError(`/subjects/${subject}/versions/latest`);
    return {
      subject,
      id: Number(found.id),
      version: Number(found.version),
      schemaType: found.schemaType ?? 'AVRO',
      schema: String(found.schema),
      references: Array.isArray(found.references) ? found.references : [],
    };
  }

  /** Registers a schema under a subject and returns its id. */
  async register(subject: string, schema: string, schemaType = 'AVRO'): Promise<number> {
    const body = schemaType === 'AVRO' ? { schema } : { schema, schemaType };
    const { id } = await this.json<{ id: number }>('POST', `/subjects/${encodeURIComponent(subject)}/versions`, body);
    return id;
  }

  /** Deletes a subject (soft, then permanently); a subject that does not exist is gone already. */
  async deleteSubject(subject: string): Promise<void> {
    await this.json<unknown>('DELETE', `/subjects/${encodeURIComponent(subject)}`, undefined, []);
    await this.json<unknown>('DELETE', `/subjects/${encodeURIComponent(subject)}?permanent=true`, undefined, []);
  }
}
