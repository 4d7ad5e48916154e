// What an error from client-node (an `ApiException`, a watch error) says about the API server's
// answer: its HTTP status and the message of the Kubernetes `Status` it carried.

/** The HTTP status of a client-node `ApiException` or watch error, when there is one. */
export function statusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode: status } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof status === 'number') return status;
  return undefined;
}

/** The `message` of the Kubernetes `Status` in an ApiException's body, when it has one. */
export function apiMessage(error: Error): string | undefined {
  const body = (error as { body?: unknown }).body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 200);
    }
  }
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}
