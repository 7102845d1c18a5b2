/**
 * A datanode scale-down under the keelson operator decommissions the leaving datanodes first
 * (`RoleDefinition.scaleDown`). The operator lists them in the namenodes' exclude file, which the
 * namenodes read again without a restart (the refresh sidecar), and keeps the StatefulSet's replicas
 * until the active namenode reports each of them `Decommissioned`: every block they held has its
 * copies on the datanodes that stay. Then the pods go. The operator reads that report from the
 * namenodes' `/jmx`, over HTTPS when the HDFS has server TLS, trusting the server TlsClass's CAs.
 *
 * The exclude file the namenodes run with is the memory of earlier scale-downs: a datanode whose pod
 * is gone stays listed (decommissioned and dead, which `HdfsDeadDatanodes` leaves out) until its
 * role group grows over its ordinal again, when its pod comes back in service.
 */
import { DEFAULT_CLUSTER_DOMAIN } from '../../lib/operator/pod-certificates';
import { statefulSetReplicas } from '../../lib/operator/scale-down';
import { LABEL_COMPONENT } from '../../lib/stacklet/labels';
import type { Manifest } from '../../lib/stacklet/manifests';
import type { LiveObject, RunningPods, ScaleDownHandOver } from '../../lib/stacklet/product';
import { EXCLUDE_FILE, HDFS_PORTS } from './hdfs';

/** A datanode as the active namenode's `NameNodeInfo` lists it (Hadoop's JMX, live or dead). */
export interface ReportedDatanode {
  /** Its transfer address, `<IP>:<port>`. */
  readonly xferaddr: string;
  /** `In Service`, `Decommission In Progress`, `Decommissioned`, … (absent for some dead ones). */
  readonly adminState?: string;
  /** Dead datanodes: whether it is decommissioned. */
  readonly decommissioned?: boolean;
}

/** The datanode StatefulSets of the desired objects. */
function datanodeStatefulSets(desired: readonly Manifest[]): Manifest[] {
  return desired.filter(
    (m) => m.kind === 'StatefulSet' && m.metadata.labels?.[LABEL_COMPONENT] === 'datanodes',
  );
}

/** The StatefulSet a pod name belongs to, and its ordinal. */
function ownerOf(
  pod: string,
  statefulSets: readonly Manifest[],
): { set: Manifest; ordinal: number } | undefined {
  for (const set of statefulSets) {
    const match = new RegExp(`^${set.metadata.name}-(0|[1-9][0-9]*)$`).exec(pod);
    if (match) return { set, ordinal: Number(match[1]) };
  }
  return undefined;
}

/** A datanode pod's stable address, as `decommissionDatanodes` lists it (the operator's domain). */
function podAddress(pod: string, set: Manifest): string {
  const headless = (set.spec as { serviceName?: string } | undefined)?.serviceName;
  return `${pod}.${headless}.${set.metadata.namespace ?? 'default'}.svc.${DEFAULT_CLUSTER_DOMAIN}`;
}

/** The exclude file's lines. */
function lines(text: string | undefined): string[] {
  return (text ?? '').split('\n').filter((l) => l.length > 0);
}

/**
 * The exclude file the operator writes: the spec's `decommissionDatanodes`, the `leaving` pods, and
 * the pods the live file lists that the role groups no longer run (each pod once, in that order).
 */
export function excludedDatanodes(
  desiredFile: string | undefined,
  leaving: readonly string[],
  liveFile: string | undefined,
  statefulSets: readonly Manifest[],
): string {
  const listed = new Map<string, string>();
  const add = (line: string) => {
    const pod = line.split('.')[0];
    if (!listed.has(pod)) listed.set(pod, line);
  };
  lines(desiredFile).forEach(add);
  for (const pod of leaving) {
    const owner = ownerOf(pod, statefulSets);
    if (owner) add(podAddress(pod, owner.set));
  }
  for (const line of lines(liveFile)) {
    const owner = ownerOf(line.split('.')[0], statefulSets);
    if (owner && owner.ordinal >= statefulSetReplicas(owner.set)) add(line);
  }
  return [...listed.values()].map((l) => `${l}\n`).join('');
}

function prepare(leaving: readonly string[], desired: readonly Manifest[], live: LiveObject): Manifest[] {
  const statefulSets = datanodeStatefulSets(desired);
  return desired.map((m) => {
    const data = m.data as Record<string, string> | undefined;
    if (m.kind !== 'ConfigMap' || typeof data?.[EXCLUDE_FILE] !== 'string') return m;
    const running = (live(m)?.data as Record<string, string> | undefined)?.[EXCLUDE_FILE];
    return {
      ...m,
      data: {
        ...data,
        [EXCLUDE_FILE]: excludedDatanodes(data[EXCLUDE_FILE], leaving, running, statefulSets),
      },
    };
  });
}

/** A `/jmx?qry=` bean's attributes, or an error naming the answer. */
async function bean(pods: RunningPods, ip: string, name: string): Promise<Record<string, unknown>> {
  // With server TLS the namenodes' web port serves HTTPS only; the operator checks the namenode's
  // certificate against the stacklet's server TlsClass.
  const scheme = pods.serverTls ? 'https' : 'http';
  const url = `${scheme}://${ip}:${HDFS_PORTS.namenodeHttp}/jmx?qry=Hadoop:service=NameNode,name=${name}`;
  const answer = (await pods.getJson(url)) as { beans?: Record<string, unknown>[] };
  const found = answer.beans?.[0];
  if (!found) throw new Error(`GET ${url}: no bean ${name}`);
  return found;
}

/** The datanodes `NameNodeInfo` lists, live and dead (each attribute a JSON text keyed by name). */
export function reportedDatanodes(info: Record<string, unknown>): ReportedDatanode[] {
  const parse = (key: string) =>
    Object.values(JSON.parse(typeof info[key] === 'string' ? (info[key] as string) : '{}') as object);
  return [...parse('LiveNodes'), ...parse('DeadNodes')] as ReportedDatanode[];
}

/** What a leaving datanode at `ip` still waits for, by the active namenode's report; none once done. */
export function decommissionWait(
  pod: string,
  ip: string | undefined,
  reported: readonly ReportedDatanode[],
): string[] {
  if (!ip)
    return [
      `${pod} has no IP, so the namenodes' report cannot be matched to it: it must run to be decommissioned`,
    ];
  const entry = reported.find((d) => d.xferaddr.startsWith(`${ip}:`));
  if (!entry) return [`${pod} (${ip}) is not registered with the active namenode yet`];
  if (entry.adminState === 'Decommissioned' || entry.decommissioned === true) return [];
  return [
    `${pod} is ${entry.adminState ?? 'not decommissioned'} at the active namenode, not yet Decommissioned`,
  ];
}

async function pending(leaving: readonly string[], pods: RunningPods): Promise<string[]> {
  // Only the active namenode copies blocks away and finishes a decommission.
  const errors: string[] = [];
  let active: string | undefined;
  for (const namenode of pods.of('namenodes')) {
    try {
      if ((await bean(pods, namenode.ip, 'NameNodeStatus')).State === 'active') active = namenode.ip;
    } catch (error) {
      errors.push((error as Error).message);
    }
    if (active) break;
  }
  if (!active) {
    return [
      `no namenode answers as active, so the decommission of ${leaving.join(', ')} cannot be followed${errors.length > 0 ? ` (${errors.join('; ')})` : ''}`,
    ];
  }
  let reported: ReportedDatanode[];
  try {
    reported = reportedDatanodes(await bean(pods, active, 'NameNodeInfo'));
  } catch (error) {
    return [`the active namenode's report of its datanodes: ${(error as Error).message}`];
  }
  const ips = new Map(pods.of('datanodes').map((p) => [p.name, p.ip]));
  return leaving.flatMap((pod) => decommissionWait(pod, ips.get(pod), reported));
}

/** The datanodes' hand-over: decommission, followed at the active namenode. */
export const DATANODE_DECOMMISSION: ScaleDownHandOver = { prepare, pending };
