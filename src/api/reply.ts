import type { Request, Response } from 'express';
import yaml from 'js-yaml';

/** The response format a request asked for: YAML when Accept names it before JSON, else JSON. */
export function wantsYaml(req: Request): boolean {
  const preferred = req.accepts(['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml']);
  return preferred !== false && preferred !== 'application/json';
}

/** Sends a body as JSON or YAML, per the request's Accept header. */
export function reply(req: Request, res: Response, status: number, body: unknown): void {
  res.status(status);
  if (wantsYaml(req)) {
    res.type('application/yaml').send(yaml.dump(body, { noRefs: true, lineWidth: -1 }));
  } else {
    res.type('application/json').send(JSON.stringify(body));
  }
}

/** Sends a status with no body. */
export function replyEmpty(res: Response, status: number): void {
  res.status(status).end();
}
