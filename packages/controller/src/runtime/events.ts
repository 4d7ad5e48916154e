// Kubernetes Events (core/v1), so `kubectl describe vsconfig` shows why a fork is not routed.
// Best effort: an event that cannot be written is logged and dropped, never retried, and never
// fails a reconcile. Events are only sent on transitions, so resyncs do not repeat them.
import type { CoreV1Event } from '@kubernetes/client-node';
import type { KubeApis } from './api.js';
import { describeError, type Logger } from './logger.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export const EVENT_COMPONENT = 'kubefork-controller';

export class EventRecorder {
  readonly #api: KubeApis['core'];
  readonly #logger: Logger;
  readonly #instance: string;
  readonly #onWrite: () => void;
  #sequence = 0;

  constructor(api: KubeApis['core'], logger: Logger, instance: string, onWrite: () => void) {
    this.#api = api;
    this.#logger = logger;
    this.#instance = instance;
    this.#onWrite = onWrite;
  }

  async record(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const { name = '', namespace = 'default' } = target.metadata;
    const now = new Date();
    // Unique like client-go's `<name>.<hex unix nanos>`; the sequence breaks ties within a ms.
    const suffix = (
      BigInt(now.getTime()) * 1_000_000n +
      BigInt(this.#sequence++ % 1_000_000)
    ).toString(16);
    const body: CoreV1Event = {
      metadata: { name: `${name}.${suffix}`, namespace },
      involvedObject: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name,
        namespace,
        ...(target.metadata.uid ? { uid: target.metadata.uid } : {}),
        ...(target.metadata.resourceVersion
          ? { resourceVersion: target.metadata.resourceVersion }
          : {}),
      },
      type,
      reason,
      message: message.slice(0, 1024),
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: EVENT_COMPONENT },
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: this.#instance,
    };
    try {
      this.#onWrite();
      await this.#api.createNamespacedEvent({ namespace, body });
    } catch (error) {
      this.#logger.warn('could not record event', {
        reason,
        object: `${namespace}/${name}`,
        error: describeError(error),
      });
    }
  }
}
