/**
 * Node topology: where in the cluster's topology a role's pods run, from labels of their nodes
 * (`topology.kubernetes.io/zone`, say). A pod cannot read its node's labels, and a process that
 * places data by topology (HDFS' namenodes placing block copies on other racks) asks about other
 * pods, by address. So a role's pod says `PodTemplate.nodeTopology`: the framework marks the role
 * group's ConfigMap with what to write, and the keelson operator writes a table into one of its
 * keys, one line per pod of the named role that has an IP and runs on a known node:
 *
 *   <pod IP> /<value of the first label>/<value of the second label>…
 *
 * (`default` for a label the node does not carry). The kubelet updates the mounted key in place; the
 * key is left out of the pods' config hash, so a new line rolls nothing. Synth mode has no operator:
 * the key stays empty, and the process must treat an address it cannot find as unknown.
 */

/** The annotation on a role group's ConfigMap that asks the operator for a table (JSON, `NodeTopology`). */
export const NODE_TOPOLOGY_ANNOTATION = 'keelson.dev/node-topology';

/** What a pod asks for. */
export interface NodeTopology {
  /** The ConfigMap key the table goes into. */
  readonly key: string;
  /** The node labels whose values, in this order, make a pod's location. */
  readonly nodeLabels: readonly string[];
  /** The role (of the same stacklet) whose pods the table lists. */
  readonly role: string;
}

/** The value of a label a node does not carry. */
export const UNKNOWN_TOPOLOGY_VALUE = 'default';

/** A pod's location: `/<value>/<value>…` of `nodeLabels` on its node. */
export function topologyLocation(
  nodeLabels: readonly string[],
  labels: Readonly<Record<string, string>> | undefined,
): string {
  return nodeLabels.map((l) => `/${labels?.[l] || UNKNOWN_TOPOLOGY_VALUE}`).join('');
}

/** A pod as the table needs it. */
export interface TopologyPod {
  readonly ip?: string;
  readonly node?: string;
}

/**
 * The table: a line per pod with an IP on a node whose labels are known, sorted by IP so that the
 * same cluster gives the same text.
 */
export function topologyTable(
  topology: NodeTopology,
  pods: readonly TopologyPod[],
  nodeLabels: (node: string) => Readonly<Record<string, string>> | undefined,
): string {
  const lines = new Set<string>();
  for (const pod of pods) {
    if (!pod.ip || !pod.node) continue;
    const labels = nodeLabels(pod.node);
    if (!labels) continue;
    lines.add(`${pod.ip} ${topologyLocation(topology.nodeLabels, labels)}\n`);
  }
  return [...lines].sort().join('');
}
