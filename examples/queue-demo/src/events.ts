// What E publishes and what F reports back to the demo over IPC.
import type { InvalidReason } from '@kubefork/context';

export const SUBJECT = 'demo.orders';

/** The event body: which demo request caused it. */
export interface OrderEvent {
  readonly request: number;
}

/** F → demo, over the child's IPC channel. */
export type ConsumerReport =
  | { readonly type: 'ready' }
  | {
      readonly type: 'seen';
      readonly request: number;
      /** `getForkId()` inside F's handler; null: baseline. */
      readonly fork: string | null;
      /** The `x-fork-identifier` header on the message as it reached F. */
      readonly header: string | null;
    }
  | { readonly type: 'invalid'; readonly value: string; readonly reason: InvalidReason };
