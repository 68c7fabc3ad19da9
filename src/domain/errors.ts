/** Errors thrown where a problem is found; the API's one error middleware maps them to a status. */
export class RestProblem extends Error {
  constructor(
    readonly status: number,
    readonly messages: string[],
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

/** 503: what the request needs is not running (for example, an application's JobManager). */
export class ServiceUnavailable extends RestProblem {
  constructor(message: string) {
    super(503, [message]);
  }
}
