// The shapes of the Fork custom resource and of the Kubernetes objects the Fork planner reads and
// writes. Plain interfaces: objects come from the API server and are checked at run time
// (fork-validate.ts), never trusted because of their static type.
import type { Condition, ObjectMeta, OwnerReference, VirtualService, VSConfig } from './types.js';

export type { OwnerReference };

/** One entry of `Fork.spec.services`. */
export interface ForkServiceSpec {
  /** A Service in the Fork's namespace; its Deployment is copied. */
  name: string;
  /** Replaces the image of `container` in the copy. */
  image?: string;
  /** The container `image` and `env` apply to; required when the pod has several. */
  container?: string;
  /** Same-name variables are replaced, others appended. */
  env?: { name: string; value: string }[];
  /** Replicas of the copy, 0–5. Default 1. */
  replicas?: number;
}

/** `Fork.spec`. */
export interface ForkSpec {
  /** The fork id requests carry. Default `metadata.name`. */
  forkId?: string;
  /** How long the Fork lives (`8h`, `90m`, `1h30m`, `2d`). Default `8h`. */
  ttl?: string;
  services: ForkServiceSpec[];
}

/** One entry of `Fork.status.services`. */
export interface ForkServiceStatus {
  name: string;
  deployment?: string;
  service?: string;
  vsConfig?: string;
  readyReplicas?: number;
  /** Why nothing was made for this service (absent when its copies are in place). */
  reason?: string;
  message?: string;
}

/** What the TTL clock was last started from. */
export interface ForkClock {
  startedAt: string;
  ttl: string;
  extendAt?: string;
}

/** `Fork.status`, written by the controller through `/status`. */
export interface ForkStatus {
  observedGeneration?: number;
  forkId?: string;
  expiresAt?: string;
  previewURL?: string;
  clock?: ForkClock;
  services?: ForkServiceStatus[];
  conditions?: Condition[];
}

/** The `Fork` custom resource (`kubefork.dev/v1beta1`). */
export interface Fork {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: ForkSpec;
  status?: ForkStatus;
}

export interface EnvVar {
  name: string;
  value?: string;
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  env?: EnvVar[];
  [field: string]: unknown;
}

export interface PodTemplate {
  metadata?: ObjectMeta;
  spec?: { containers?: Container[]; initContainers?: Container[]; [field: string]: unknown };
}

/** An `apps/v1` Deployment, as far as the planner looks into it. */
export interface Deployment {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string>; [field: string]: unknown };
    template?: PodTemplate;
    [field: string]: unknown;
  };
  status?: { readyReplicas?: number; [field: string]: unknown };
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
  [field: string]: unknown;
}

/** A core/v1 Service, as far as the planner looks into it. */
export interface Service {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    selector?: Record<string, string>;
    ports?: ServicePort[];
    type?: string;
    [field: string]: unknown;
  };
}

/**
 * Why a Fork (or one of its services) is or is not in place; the `reason` of its Ready condition.
 * - `Forked`: every copy, Service and VSConfig is planned.
 * - `Invalid`: the Fork breaks a rule of the CRD (e.g. no valid fork id).
 * - `ForkIdInUse`: an older Fork of the namespace has the same fork id.
 * - `QuotaExceeded`: the namespace already has `--max-forks-per-namespace` older Forks.
 * - `ServiceNotFound`: a named Service does not exist.
 * - `NoDeployment` / `AmbiguousDeployment`: no Deployment, or several, have pods the Service selects.
 * - `ContainerRequired` / `ContainerNotFound`: an override names no container on a pod with
 *   several, or one the pod does not have.
 * - `ImageNotAllowed`: the image does not start with any `--allowed-image-prefix`.
 */
export type ForkReason =
  | 'Forked'
  | 'Invalid'
  | 'ForkIdInUse'
  | 'QuotaExceeded'
  | 'ServiceNotFound'
  | 'NoDeployment'
  | 'AmbiguousDeployment'
  | 'ContainerRequired'
  | 'ContainerNotFound'
  | 'ImageNotAllowed';

/** The verdict on one service of a Fork. */
export interface ForkServicePlan {
  name: string;
  ok: boolean;
  reason: ForkReason;
  message: string;
  /** The desired copy, Service and VSConfig (absent when `ok` is false). */
  deployment?: Deployment;
  service?: Service;
  vsConfig?: VSConfig;
}

/** Everything `planFork` decided for one Fork. */
export interface ForkPlan {
  /** The effective fork id (`spec.forkId` or `metadata.name`). */
  forkId: string;
  ready: boolean;
  reason: ForkReason;
  message: string;
  /** One entry per `spec.services` entry, in spec order. */
  services: ForkServicePlan[];
  /** The preview VirtualService, when the controller has a preview domain and the Fork is admitted. */
  preview: VirtualService | null;
  /** `https://<forkId>.<domain>` when `preview` is set. */
  previewURL: string | undefined;
}

/** Preview URL settings of the controller. */
export interface PreviewOptions {
  /** e.g. `preview.example.com`: a Fork `alice` gets `alice.preview.example.com`. */
  domain: string;
  /** `<namespace>/<name>` of the Istio Gateway that serves the domain. */
  gateway: string;
  /** `<namespace>/<service>`: the Service a browser reaches first. */
  entry: string;
}

/** Input of `planFork`. */
export interface PlanForkInput {
  fork: Fork;
  /** Every Fork of the Fork's namespace (including `fork`): decides ForkIdInUse and QuotaExceeded. */
  forks: Fork[];
  /** Every Service of the namespace. */
  services: Service[];
  /** Every Deployment of the namespace. */
  deployments: Deployment[];
  /** Images an override may use, by prefix. Default: any. */
  allowedImagePrefixes?: string[];
  /** Default 50. */
  maxForksPerNamespace?: number;
  preview?: PreviewOptions;
  clusterDomain?: string;
}
