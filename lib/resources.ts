/**
 * `config.resources`: CPU, memory and persistent storage of a role group, and what follows from them
 * (container requests and limits, claim templates, a JVM heap).
 *
 * CPU gives a range: `min` is the request (what the scheduler guarantees), `max` the limit (the
 * throttling ceiling). Memory gives one number used as both request and limit, because a container
 * that uses more than it requested is the first to be killed under memory pressure; data products
 * should not be.
 */
import { parseQuantity, quantityProblems } from './quantity';
import type { ResourcesSpec } from './spec/common';

/** The persistent volumes of `resources`, by name. */
type StorageVolumes = NonNullable<ResourcesSpec['storage']>;

/** A container's `resources`, in the Kubernetes shape. */
export interface ResourceRequirements {
  readonly requests: { readonly cpu?: string; readonly memory?: string };
  readonly limits: { readonly cpu?: string; readonly memory?: string };
}

/** A volume claim template of a StatefulSet, as plain JSON. */
export interface VolumeClaimTemplate {
  readonly metadata: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
  readonly spec: {
    readonly accessModes: readonly string[];
    readonly resources: { readonly requests: { readonly storage: string } };
    readonly storageClassName?: string;
  };
}

/** How much of a container's memory the JVM heap gets. */
export interface JvmHeapOptions {
  /**
   * The largest share of the memory limit the heap may take.
   * @default 0.8
   */
  readonly fraction?: number;
  /**
   * Memory always left outside the heap (metaspace, code cache, thread stacks, direct buffers).
   * @default "256Mi"
   */
  readonly reservedNonHeap?: string;
}

const DEFAULT_HEAP_FRACTION = 0.8;
const DEFAULT_RESERVED_NON_HEAP = '256Mi';
const MIB = 1024 * 1024;

/**
 * The container `resources` for a role group: `cpu.min` → request, `cpu.max` → limit, and
 * `memory.limit` → both request and limit. Fields the spec leaves out are left out here too.
 */
export function resourceRequirements(resources: ResourcesSpec): ResourceRequirements {
  const requests: { cpu?: string; memory?: string } = {};
  const limits: { cpu?: string; memory?: string } = {};
  if (resources.cpu?.min !== undefined) {
    requests.cpu = resources.cpu.min;
  }
  if (resources.cpu?.max !== undefined) {
    limits.cpu = resources.cpu.max;
  }
  if (resources.memory?.limit !== undefined) {
    requests.memory = resources.memory.limit;
    limits.memory = resources.memory.limit;
  }
  return { requests, limits };
}

/**
 * Problems with a quantity that must be positive (or, with `allowZero`, not negative) and, with
 * `wholeBytes`, a whole number of bytes.
 */
function amountProblems(
  value: string | undefined,
  path: string,
  rules: { allowZero?: boolean; wholeBytes?: boolean },
): string[] {
  if (value === undefined) {
    return [];
  }
  const syntax = quantityProblems(value, path);
  if (syntax.length > 0) {
    return syntax;
  }
  const amount = parseQuantity(value);
  if (rules.allowZero ? amount < 0 : amount <= 0) {
    return [`${path}: must be ${rules.allowZero ? 'at least 0' : 'greater than 0'}, not "${value}"`];
  }
  if (rules.wholeBytes && !Number.isInteger(amount)) {
    return [`${path}: "${value}" is not a whole number of bytes; use a suffix like Mi or Gi, not m`];
  }
  return [];
}

/**
 * Problems with deriving a JVM heap from `memoryLimit` at `path` (the memory limit's path): options
 * out of range, or a limit too small to leave any heap after the non-heap reserve. Empty when
 * {@link jvmHeapFromMemory} will succeed.
 */
export function jvmHeapProblems(memoryLimit: string, path: string, options: JvmHeapOptions = {}): string[] {
  const fraction = options.fraction ?? DEFAULT_HEAP_FRACTION;
  const reserved = options.reservedNonHeap ?? DEFAULT_RESERVED_NON_HEAP;
  const problems = [
    ...amountProblems(memoryLimit, path, { wholeBytes: true }),
    ...amountProblems(reserved, `${path} (reserved non-heap memory)`, { allowZero: true, wholeBytes: true }),
  ];
  if (!(fraction > 0 && fraction <= 1)) {
    problems.push(`${path}: the heap fraction must be greater than 0 and at most 1, not ${fraction}`);
  }
  if (problems.length === 0 && heapMiB(memoryLimit, fraction, reserved) < 1) {
    problems.push(
      `${path}: a memory limit of ${memoryLimit} leaves no room for a JVM heap after ${reserved} of ` +
        'non-heap memory; raise the memory limit',
    );
  }
  return problems;
}

function heapMiB(memoryLimit: string, fraction: number, reservedNonHeap: string): number {
  const limit = parseQuantity(memoryLimit);
  const heap = Math.min(limit * fraction, limit - parseQuantity(reservedNonHeap));
  return Math.floor(heap / MIB);
}

/**
 * The JVM heap, in whole MiB, for a container with `memoryLimit`: the smaller of `fraction` of the
 * limit (default 80%) and the limit less `reservedNonHeap` (default 256Mi).
 *
 * Why both: a JVM's non-heap memory has a floor of a few hundred MiB (classes, JIT code, threads)
 * and then grows with the heap (GC structures, direct buffers). A fixed share alone would starve
 * small containers (80% of 512Mi leaves ~100Mi, and the container is OOM-killed), a fixed reserve
 * alone would starve large ones. 512Mi → 256 MiB heap, 1Gi → 768, 4Gi → 3276.
 * Throws what {@link jvmHeapProblems} reports.
 */
export function jvmHeapMiB(memoryLimit: string, options: JvmHeapOptions = {}): number {
  const problems = jvmHeapProblems(memoryLimit, 'memory.limit', options);
  if (problems.length > 0) {
    throw new Error(problems.join('\n'));
  }
  return heapMiB(
    memoryLimit,
    options.fraction ?? DEFAULT_HEAP_FRACTION,
    options.reservedNonHeap ?? DEFAULT_RESERVED_NON_HEAP,
  );
}

/**
 * JVM arguments setting the heap derived from `memoryLimit` (see {@link jvmHeapMiB}):
 * `['-Xmx<n>m', '-Xms<n>m']`. The initial heap equals the maximum because the container's memory is
 * reserved anyway (request = limit), and a heap that never resizes has no resize pauses.
 */
export function jvmHeapFromMemory(memoryLimit: string, options: JvmHeapOptions = {}): string[] {
  const heap = jvmHeapMiB(memoryLimit, options);
  return [`-Xmx${heap}m`, `-Xms${heap}m`];
}

/**
 * Volume claim templates for a StatefulSet, one per storage volume, sorted by name so the
 * workload (and its hash) does not depend on the order the spec listed them. Each is
 * `ReadWriteOnce` (one pod per claim) with the given `labels`; a StorageClass is set only when the
 * user named one, so the cluster default applies otherwise.
 */
export function volumeClaimTemplates(
  storage: Readonly<StorageVolumes> | undefined,
  labels: Readonly<Record<string, string>>,
): VolumeClaimTemplate[] {
  return Object.keys(storage ?? {})
    .sort()
    .map((name) => {
      const volume = (storage ?? {})[name];
      return {
        metadata: { name, labels: { ...labels } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: volume.capacity } },
          ...(volume.storageClass !== undefined ? { storageClassName: volume.storageClass } : {}),
        },
      };
    });
}
