/**
 * Why a stacklet's pods are not Ready, read from their status the way the kubelet writes it, so
 * that a product that cannot start (a config override it rejects, a heap too small, an image that
 * is not there) shows up in the stacklet's `Degraded` condition instead of as a silent crash loop.
 *
 * Every container keelson builds has `terminationMessagePolicy: FallbackToLogsOnError`, so the
 * kubelet keeps the tail of a failed container's log as its termination message; that tail, cut
 * short and with anything that looks like a credential masked, says what the product complained
 * about. Only containers that are not ready count: a pod that crashed once and now serves is fine.
 *
 * Pure functions over pod JSON: the operator's pod cache holds {@link podHealthView}s, and
 * {@link podProblems} never throws on a status it does not expect.
 */
import type { KubeObject } from './informer';

/** Reason of `Degraded` when containers of the stacklet's pods fail. */
export const CONTAINERS_FAILING = 'ContainersFailing';

/** Characters of a termination message a problem keeps (its end, where the error is). */
export const MESSAGE_TAIL_CHARS = 600;
/** Problems a condition message lists; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 3;

/** Waiting reasons that mean the container will not start without a change. */
const FAILED_WAITING = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'PreStartHookError',
  'PostStartHookError',
]);
/** Waiting reasons of one failure the kubelet alternates between: reported as one. */
const IMAGE_PULL = new Set(['ErrImagePull', 'ImagePullBackOff']);

/** One failing container (or a pod that cannot run at all), for a condition message. */
export interface PodProblem {
  readonly pod: string;
  /** Undefined for a problem of the whole pod (unschedulable, evicted). */
  readonly container?: string;
  /** `Error`, `OOMKilled`, `CrashLoopBackOff`, `ImagePullBackOff`, `Unschedulable`, … */
  readonly reason: string;
  readonly exitCode?: number;
  /** What the kubelet, scheduler or product said, bounded and masked; may be empty. */
  readonly message: string;
  /**
   * True for a pod still waiting for a node (unschedulable): often transient (a claim being
   * bound, a node being added), so it is named in `Available`, not reported as `Degraded`.
   */
  readonly waiting?: boolean;
}

interface Terminated {
  exitCode?: number;
  reason?: string;
  message?: string;
}
interface ContainerStatus {
  name?: string;
  ready?: boolean;
  image?: string;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: Terminated;
    running?: { startedAt?: string };
  };
  lastState?: { terminated?: Terminated };
}
interface PodStatus {
  phase?: string;
  podIP?: string;
  startTime?: string;
  reason?: string;
  message?: string;
  conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

/**
 * What the operator keeps of a pod: identity, creation time, labels, owners and status (no spec: it is large
 * and holds the environment). The status is what the kubelet reports; nothing of it is secret
 * beyond what the product logs, which {@link podProblems} masks.
 */
export function podHealthView(pod: KubeObject): KubeObject {
  const {
    name,
    namespace,
    uid,
    resourceVersion,
    labels,
    ownerReferences,
    deletionTimestamp,
    creationTimestamp,
  } = pod.metadata;
  const status = (pod.status ?? {}) as PodStatus;
  const podSpec = pod.spec as { nodeName?: string; hostname?: string; subdomain?: string } | undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid,
      resourceVersion,
      labels,
      ownerReferences,
      deletionTimestamp,
      creationTimestamp,
    },
    spec: {
      // The node a pod runs on: a per-pod listener's address is its node's (listener-addresses.ts).
      nodeName: podSpec?.nodeName,
      // A pod's DNS name: the operator checks a pod's HTTPS certificate against it (pod-http.ts).
      hostname: podSpec?.hostname,
      subdomain: podSpec?.subdomain,
    },
    status: {
      phase: status.phase,
      // A pod's address: node topology tables list pods by IP (lib/topology).
      podIP: status.podIP,
      // When the kubelet took the pod on: certificate restarts date a pod's certificate from it.
      startTime: status.startTime,
      reason: status.reason,
      message: status.message,
      conditions: status.conditions?.map(({ type, status: s, reason, message }) => ({
        type,
        status: s,
        reason,
        message,
      })),
      containerStatuses: status.containerStatuses?.map(containerView),
      initContainerStatuses: status.initContainerStatuses?.map(containerView),
    },
  };
}

function containerView(c: ContainerStatus): ContainerStatus {
  const terminated = (t: Terminated | undefined) =>
    t && { exitCode: t.exitCode, reason: t.reason, message: t.message };
  return {
    name: c.name,
    ready: c.ready,
    image: c.image,
    state: c.state && {
      waiting: c.state.waiting && { reason: c.state.waiting.reason, message: c.state.waiting.message },
      terminated: terminated(c.state.terminated),
      // When the process started: certificate restarts compare it with when a CA was published.
      running: c.state.running && { startedAt: c.state.running.startedAt },
    },
    lastState: c.lastState && { terminated: terminated(c.lastState.terminated) },
  };
}

/** True when the health a view shows differs (a change that can move the stacklet's conditions). */
export function podHealthChanged(before: KubeObject | undefined, after: KubeObject): boolean {
  return (
    before === undefined ||
    before.metadata.deletionTimestamp !== after.metadata.deletionTimestamp ||
    (before.spec as { nodeName?: string } | undefined)?.nodeName !==
      (after.spec as { nodeName?: string } | undefined)?.nodeName ||
    JSON.stringify(before.status) !== JSON.stringify(after.status)
  );
}

/**
 * The problems of `pods` (the stacklet's, as its cache holds them), in pod name order. Pods being
 * deleted are skipped (a rollout replaces them); a Ready pod has none.
 */
export function podProblems(pods: readonly KubeObject[]): PodProblem[] {
  const problems: PodProblem[] = [];
  const sorted = [...pods].sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
  for (const pod of sorted) {
    if (!pod?.metadata || pod.metadata.deletionTimestamp) continue;
    problems.push(...problemsOf(pod.metadata.name, (pod.status ?? {}) as PodStatus));
  }
  return problems;
}

function problemsOf(pod: string, status: PodStatus): PodProblem[] {
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  if (conditions.some((c) => c?.type === 'Ready' && c.status === 'True')) return [];
  if (status.phase === 'Failed') {
    // Evicted, or every container of a pod that does not restart has ended.
    return [{ pod, reason: status.reason ?? 'Failed', message: clean(status.message ?? '') }];
  }
  const scheduled = conditions.find((c) => c?.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return [{ pod, reason: 'Unschedulable', message: clean(scheduled.message ?? ''), waiting: true }];
  }
  const problems: PodProblem[] = [];
  for (const c of [
    ...(Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : []),
    ...(Array.isArray(status.containerStatuses) ? status.containerStatuses : []),
  ]) {
    const problem = containerProblem(pod, c);
    if (problem) problems.push(problem);
  }
  return problems;
}

function containerProblem(pod: string, c: ContainerStatus | undefined): PodProblem | undefined {
  if (!c || c.ready === true) return undefined;
  const container = c.name ?? '?';
  const waiting = c.state?.waiting;
  const waitingReason = waiting?.reason ?? '';
  // The container's most recent end: the current one, or the one before the restart. Reporting it
  // (not the back-off, whose message counts seconds) keeps a crash loop one unchanging problem.
  const end = c.state?.terminated ?? c.lastState?.terminated;
  const ended = (): PodProblem => ({
    pod,
    container,
    reason: end?.reason || waitingReason || 'Error',
    exitCode: end?.exitCode,
    message: clean(end?.message ?? ''),
  });
  if (waitingReason === 'CrashLoopBackOff') return ended();
  if (IMAGE_PULL.has(waitingReason)) {
    return { pod, container, reason: 'ImagePullBackOff', message: `cannot pull image ${c.image ?? '?'}` };
  }
  if (FAILED_WAITING.has(waitingReason)) {
    return { pod, container, reason: waitingReason, message: clean(waiting?.message ?? '') };
  }
  return failed(end) ? ended() : undefined;
}

function failed(t: Terminated | undefined): boolean {
  return t !== undefined && t !== null && (t.exitCode ?? 0) !== 0;
}

/** A frame of a JVM stack trace (`at a.b.C.m(C.java:12)`, `... 7 more`, logback's `... 2 common frames omitted`). */
const STACK_FRAME = /^(at [\w$.<>/-]+\(.*\)|\.\.\. \d+ (more|common frames omitted))$/;

/**
 * The end of `text` on one line, without stack frames, without control characters, with values of keys that name
 * credentials masked (`password=…`, `"secret": "…"`, `token: …`), at most MESSAGE_TAIL_CHARS.
 */
export function clean(text: string): string {
  const masked = String(text)
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')
    .replace(
      /((?:password|passwd|secret|token|credential|access[-_.]?key|private[-_.]?key)[\w.-]*"?\s*[:=]\s*"?)[^\s",;&]+/gi,
      '$1***',
    )
    .replace(/(:\/\/[^/\s:@]+:)[^@\s/]+@/g, '$1***@');
  const oneLine = masked
    .split(/\r?\n/)
    .map((l) => l.trim())
    // A stack trace's frames fill the tail without saying what went wrong; its messages stay.
    .filter((l) => l.length > 0 && !STACK_FRAME.test(l))
    .join(' | ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, ' ');
  return oneLine.length <= MESSAGE_TAIL_CHARS ? oneLine : `…${oneLine.slice(-MESSAGE_TAIL_CHARS)}`;
}

/** `pod zk-0 container zookeeper: exit code 2 (Error): …tail`. */
export function describeProblem(p: PodProblem): string {
  const where = p.container ? `pod ${p.pod} container ${p.container}` : `pod ${p.pod}`;
  const what = p.exitCode !== undefined ? `exit code ${p.exitCode} (${p.reason})` : p.reason;
  return `${where}: ${what}${p.message ? `: ${p.message}` : ''}`;
}

/** The problems for a condition message: the first few in full, the others counted. */
export function describeProblems(problems: readonly PodProblem[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map(describeProblem);
  const more = problems.length - listed.length;
  return listed.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/**
 * What identifies a set of problems without the products' words (which carry timestamps): a new
 * Event is recorded when this changes, not at every crash of the same container.
 */
export function problemsSignature(problems: readonly PodProblem[]): string {
  return problems.map((p) => `${p.pod}/${p.container ?? ''}/${p.reason}/${p.exitCode ?? ''}`).join(',');
}
