import { stringValue } from './args.js';
import { loadTarget, type Target } from './kube.js';

/** The cluster and namespace of a command's `--kubeconfig`, `--context` and `-n`. */
export function targetOf(values: Record<string, unknown>): Promise<Target> {
  return loadTarget({
    kubeconfig: stringValue(values.kubeconfig),
    context: stringValue(values.context),
    namespace: stringValue(values.namespace),
  });
}
