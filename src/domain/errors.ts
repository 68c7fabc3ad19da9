/** Errors thrown where a problem is found; the API's one error middleware maps them to a status. */
export class RestProblem extends Error {
  constructor(
    readonly status: number,
    readonly messages: string[],
    /** Response headers that belong to the problem (`WWW-Authenticate`, `Retry-After`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(messages.join('; '));
    this.name = new.target.name;
  }
}

/** 400: the request is malformed or breaks the schema. */
export class BadRequest extends RestProblem {
  constructor(...messages: string[]) {
    super(400, messages);
  }
}

/**
 * 401: no credential where one is needed, or one that is not accepted. The message is the same
 * whatever was wrong with a credential: the client learns only that it was not accepted.
 */
export class Unauthorized extends RestProblem {
  constructor(presented: boolean) {
    super(401, [presented ? 'The credentials presented are not valid' : 'Authentication is required'], {
      'WWW-Authenticate': presented ? 'Bearer realm="drey", error="invalid_token"' : 'Bearer realm="drey"',
    });
  }
}

/** 403: the caller is known and may not do this. Built from the request only, never from what is stored. */
export class Forbidden extends RestProblem {
  constructor(message: string) {
    super(403, [message]);
  }
}

/** 404: the object, or its parent, does not exist. */
export class NotFound extends RestProblem {
  constructor(message: string) {
    super(404, [message]);
  }
}

/** 409: the request conflicts with what is stored. */
export class Conflict extends RestProblem {
  constructor(message: string) {
    super(409, [message]);
  }
}

/** 410: what was asked for existed once and is gone. */
export class Gone extends RestProblem {
  constructor(message: string) {
    super(410, [message]);
  }
}

/** 413: the body is larger than drey accepts. */
export class PayloadTooLarge extends RestProblem {
  constructor(message: string) {
    super(413, [message]);
  }
}

/** 415: the body's media type is neither JSON nor YAML. */
export class UnsupportedMediaType extends RestProblem {
  constructor(message: string) {
    super(415, [message]);
  }
}

/** 422: the request is well formed but its content cannot be accepted. */
export class Unprocessable extends RestProblem {
  constructor(...messages: string[]) {
    super(422, messages);
  }
}

/** 429: the caller sent more requests than it may; `Retry-After` says when to try again. */
export class TooManyRequests extends RestProblem {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, [message], { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/** 503: what the request needs is not running (for example, an application's JobManager). */
export class ServiceUnavailable extends RestProblem {
  constructor(message: string) {
    super(503, [message]);
  }
}
