import { ApiException } from '@kubernetes/client-node';

/** A failed Kubernetes call, carrying the API server's status code and its `Status` message. */
export class KubeError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Whether the Kubernetes API refused an object itself (400, 403, 422): retrying cannot fix that. */
export function isRefused(err: unknown): err is KubeError {
  return err instanceof KubeError && [400, 403, 422].includes(err.code);
}

/** The message of a Kubernetes `Status` body, whether parsed or still text. */
function statusMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.slice(0, 300) || undefined;
    }
  }
  const message = (value as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : undefined;
}

/** Turns whatever the client threw into a KubeError (code 0 when the server never answered). */
export function kubeError(err: unknown): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException) return new KubeError(err.code, statusMessage(err.body) ?? `HTTP ${err.code}`);
  return new KubeError(0, (err as Error)?.message ?? String(err));
}

/** Runs a Kubernetes call with a deadline, translating failures into KubeError. */
export async function kubeCall<T>(what: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubeError(0, `${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([call(), deadline]);
  } catch (err) {
    const e = kubeError(err);
    throw e.message.startsWith(what) ? e : new KubeError(e.code, `${what}: ${e.message}`);
  } finally {
    clearTimeout(timer);
  }
}
