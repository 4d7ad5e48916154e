// The small protocol between the orchestrator (mesh.ts) and its child processes, over the IPC
// channel of child_process.fork: a child announces itself once, then answers requests.

/** First message of every child: where it listens. */
export interface ReadyMessage {
  readonly kind: 'ready';
  /** Service instance: its one port. Router: one port per service it stands in front of. */
  readonly ports: Readonly<Record<string, number>>;
}

export interface RequestMessage {
  readonly id: number;
  readonly kind: string;
  readonly payload?: unknown;
}

export interface ReplyMessage {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: string;
}

export type RequestHandlers = Readonly<Record<string, (payload: unknown) => unknown>>;

/** True when this process was started by the orchestrator with an IPC channel. */
export function hasParent(): boolean {
  return typeof process.send === 'function';
}

/**
 * Announces `ready` to the parent and answers its requests with `handlers`. The process exits
 * when the channel closes, which also happens when the parent dies without stopping it: no
 * orphans, whatever way the demo or a test run ends.
 */
export function serveParent(ready: ReadyMessage, handlers: RequestHandlers): void {
  const send = process.send!.bind(process);
  process.on('message', async (message: RequestMessage) => {
    const handler = handlers[message.kind];
    let reply: ReplyMessage;
    try {
      if (handler === undefined) throw new Error(`unknown request ${message.kind}`);
      reply = { id: message.id, result: await handler(message.payload) };
    } catch (error) {
      reply = { id: message.id, error: (error as Error).message };
    }
    if (process.connected) send(reply);
  });
  process.on('disconnect', () => process.exit(0));
  send(ready);
}
