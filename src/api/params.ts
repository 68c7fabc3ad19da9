import type { Request } from 'express';
import { NotFound } from '../domain/errors.js';
import { isStorableText } from '../domain/text.js';

/** What each path parameter names, for the 404 of a name nothing can have. */
const PARAMETER_KINDS: Record<string, string> = {
  envName: 'Environment',
  appName: 'Application',
  instName: 'Instance',
  name: 'Secret mapping',
  stmtName: 'Statement',
  poolName: 'Compute pool',
  secretName: 'Secret',
  catName: 'Kafka catalog',
  dbName: 'Kafka database',
};

/**
 * A path parameter, decoded by Express. A name PostgreSQL could not store (NUL, an unpaired
 * surrogate) names nothing: 404 before any query.
 */
export function param(req: Request, name: string): string {
  const value = String(req.params[name]);
  if (!isStorableText(value)) throw new NotFound(`${PARAMETER_KINDS[name] ?? 'Resource'} ${JSON.stringify(value)} not found`);
  return value;
}
