/**
 * The Secrets a workload's pods read, and the pod template annotation that rolls those pods when
 * one of the Secrets changes.
 *
 * Kubernetes never restarts a pod because a Secret it reads changed, and an env variable from a
 * Secret (`secretKeyRef`, `envFrom`) is read only when the container starts. So the operator
 * stamps each workload's pod template with a hash of the identity and version (uid and
 * resourceVersion, or "missing") of every Secret the template references: a rotated credential
 * changes the hash, and the workload controller rolls the pods. Only versions are hashed, never
 * data: the operator caches Secrets' metadata alone. Synth mode has no cluster to read and stamps
 * nothing.
 *
 * The stamp is added after the build, so the applied-hash annotation (see compare.ts) covers the
 * build only. That is enough: the stamp is there exactly when the build references a Secret, and
 * a changed stamp is a changed field, which the field-by-field comparison sees.
 */
import { configHash } from '../hash';
import type { Manifest } from './build';
import { WORKLOAD_KINDS } from './readiness';

/** Pod template annotation: the hash of the versions of the Secrets the pods reference. */
export const SECRETS_HASH_ANNOTATION = 'keelson.dev/secrets-hash';

/** A Secret a pod template names; `optional` when every reference to it says `optional: true`. */
export interface SecretReference {
  readonly name: string;
  readonly optional: boolean;
}

/** What the operator's Secret cache knows of a Secret: its identity and version, no data. */
export interface SecretVersion {
  readonly uid?: string;
  readonly resourceVersion?: string;
}

interface Named {
  readonly name?: string;
  readonly secretName?: string;
  readonly optional?: boolean;
}
interface Container {
  readonly env?: readonly { readonly valueFrom?: { readonly secretKeyRef?: Named } }[];
  readonly envFrom?: readonly { readonly secretRef?: Named }[];
}
interface PodSpec {
  readonly containers?: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly volumes?: readonly {
    readonly secret?: Named;
    readonly projected?: { readonly sources?: readonly { readonly secret?: Named }[] };
  }[];
}

/**
 * The Secrets a pod spec reads, by name, sorted: secret and projected volumes, and the
 * `secretKeyRef` env and `secretRef` envFrom of containers and init containers. Image pull
 * secrets are left out: they are read when an image is pulled, not by the running pods.
 */
export function podSecretReferences(spec: PodSpec | undefined): SecretReference[] {
  const found = new Map<string, boolean>();
  const add = (name: string | undefined, optional: boolean | undefined) => {
    if (!name) return;
    found.set(name, (found.get(name) ?? true) && optional === true);
  };
  for (const volume of spec?.volumes ?? []) {
    add(volume.secret?.secretName, volume.secret?.optional);
    for (const source of volume.projected?.sources ?? []) add(source.secret?.name, source.secret?.optional);
  }
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const env of container.env ?? []) {
      add(env.valueFrom?.secretKeyRef?.name, env.valueFrom?.secretKeyRef?.optional);
    }
    for (const from of container.envFrom ?? []) add(from.secretRef?.name, from.secretRef?.optional);
  }
  return [...found]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, optional]) => ({ name, optional }));
}

/** The Secrets the pod template of a workload (StatefulSet, Deployment, DaemonSet) reads; none for other kinds. */
export function workloadSecretReferences(manifest: Manifest): SecretReference[] {
  if (!WORKLOAD_KINDS.has(manifest.kind)) return [];
  const spec = manifest.spec as { template?: { spec?: PodSpec } } | undefined;
  return podSecretReferences(spec?.template?.spec);
}

/** What stamping a stacklet's children found. */
export interface StampedSecrets {
  /** The children, each workload that reads a Secret stamped with {@link SECRETS_HASH_ANNOTATION}. */
  readonly manifests: Manifest[];
  /** Every Secret any workload references, sorted: changes to these requeue the stacklet. */
  readonly referenced: string[];
  /** Secrets a workload needs (not optional) that `versionOf` does not know, sorted. */
  readonly missing: string[];
}

/**
 * Stamps the pod template of every workload that references a Secret with the hash of those
 * Secrets' versions (`versionOf` answers undefined for a Secret that does not exist). Workloads
 * that reference none, and every other kind, are returned as they are.
 *
 * While a required Secret is missing, a workload that is already stamped (`currentStamp`, from
 * the live object) keeps its stamp: its running pods read the Secret when they started, and new
 * pods could not start without it, so deleting a Secret must not roll them. When the Secret is
 * back (a new uid), the stamp changes and the pods roll once.
 */
export function withSecretsHashes(
  manifests: readonly Manifest[],
  versionOf: (name: string) => SecretVersion | undefined,
  currentStamp: (manifest: Manifest) => string | undefined = () => undefined,
): StampedSecrets {
  const referenced = new Set<string>();
  const missing = new Set<string>();
  const stamped = manifests.map((manifest) => {
    const references = workloadSecretReferences(manifest);
    if (references.length === 0) return manifest;
    let complete = true;
    const versions = references.map(({ name, optional }) => {
      referenced.add(name);
      const version = versionOf(name);
      if (!version && !optional) {
        missing.add(name);
        complete = false;
      }
      return [name, version ? `${version.uid}/${version.resourceVersion}` : 'missing'];
    });
    const kept = complete ? undefined : currentStamp(manifest);
    return stampPodTemplate(manifest, kept ?? configHash(versions).slice(0, 16));
  });
  return { manifests: stamped, referenced: [...referenced].sort(), missing: [...missing].sort() };
}

/** The {@link SECRETS_HASH_ANNOTATION} of a (live) workload's pod template, if any. */
export function secretsHashOf(workload: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const spec = workload?.spec as { template?: { metadata?: { annotations?: Record<string, string> } } };
  return spec?.template?.metadata?.annotations?.[SECRETS_HASH_ANNOTATION];
}

function stampPodTemplate(manifest: Manifest, hash: string): Manifest {
  const spec = manifest.spec as { template: { metadata?: { annotations?: Record<string, string> } } };
  return {
    ...manifest,
    spec: {
      ...spec,
      template: {
        ...spec.template,
        metadata: {
          ...spec.template.metadata,
          annotations: { ...spec.template.metadata?.annotations, [SECRETS_HASH_ANNOTATION]: hash },
        },
      },
    },
  };
}
