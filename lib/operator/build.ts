/**
 * The build step of a reconcile: the same Stacklet construct synth mode uses, in a fresh
 * in-memory App (one per reconcile: a chart re-walks its whole App, so a shared App would grow
 * slower with every stacklet), then the operator's own stamps — the owner reference that lets the
 * garbage collector and the prune find the objects, and the applied-hash annotation.
 */
import { App, Chart } from 'cdk8s';
import { LABEL_PART_OF } from '../stacklet/labels';
import type { OperatorPods, ProductDefinition } from '../stacklet/product';
import type { ReferencedObject } from '../stacklet/references';
import { Stacklet } from '../stacklet/stacklet';
import type { TlsClassInfo } from '../tls/pod-tls';
import type { ListenerClassInfo } from '../listener/class';
import type { AuthenticationClassInfo } from '../authentication/class';
import type { AnyStackletSpec } from '../spec/stacklet-spec';
import { withAppliedHash } from './compare';
import type { KubeObject, OwnerReference } from './informer';

/** A child object as built: JSON ready to apply. */
export type Manifest = KubeObject & { apiVersion: string; kind: string };

/**
 * The platform a stacklet belongs to (`app.kubernetes.io/part-of`): the custom resource's own
 * part-of label, else its namespace — in synth mode it is the chart, which a resource lacks.
 */
export function platformOf(resource: KubeObject): string {
  return resource.metadata.labels?.[LABEL_PART_OF] ?? resource.metadata.namespace ?? 'default';
}

/** The controller owner reference children of `resource` carry. */
export function ownerReferenceTo(resource: KubeObject): OwnerReference {
  return {
    apiVersion: resource.apiVersion!,
    kind: resource.kind!,
    name: resource.metadata.name,
    uid: resource.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The children `resource` wants. Throws SpecValidationError for a spec the build rejects.
 * `dependencies` holds the data of the discovery ConfigMaps the spec names, `objects` the keelson
 * objects its references may resolve to, `tlsClasses` the TlsClasses of the cluster.
 */
export function buildChildren(
  product: ProductDefinition,
  resource: KubeObject,
  dependencies: Readonly<Record<string, Readonly<Record<string, string>>>>,
  objects: readonly ReferencedObject[] = [],
  tlsClasses: readonly TlsClassInfo[] = [],
  listeners: {
    readonly listenerClasses?: readonly ListenerClassInfo[];
    /** The cluster's AuthenticationClasses. @default - none */
    readonly authenticationClasses?: readonly AuthenticationClassInfo[];
    /** Fills in what the build leaves to the cluster (per-pod listener addresses), before hashing. */
    readonly fill?: (built: Manifest[]) => Manifest[];
    /** The operator's own pods, admitted to the ports it reads. @default - none */
    readonly operatorPods?: OperatorPods;
  } = {},
): Manifest[] {
  const app = new App();
  const chart = new Chart(app, platformOf(resource), { namespace: resource.metadata.namespace });
  const stacklet = new Stacklet(
    chart,
    resource.metadata.name,
    product,
    (resource.spec ?? {}) as AnyStackletSpec,
    {
      dependencies,
      objects,
      labels: resource.metadata.labels,
      tlsClasses,
      listenerClasses: listeners.listenerClasses ?? [],
      authenticationClasses: listeners.authenticationClasses ?? [],
      builtByOperator: true,
      operatorPods: listeners.operatorPods,
    },
  );
  if (stacklet.validationError) throw stacklet.validationError;
  const owner = ownerReferenceTo(resource);
  const built = chart.toJson() as Manifest[];
  return (listeners.fill ? listeners.fill(built) : built).map((manifest) =>
    withAppliedHash({
      ...manifest,
      metadata: {
        ...manifest.metadata,
        namespace: resource.metadata.namespace,
        ownerReferences: [...(manifest.metadata.ownerReferences ?? []), owner],
      },
    }),
  );
}
