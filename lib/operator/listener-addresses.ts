/**
 * The operator's half of per-pod listeners (lib/listener/pod-listener.ts): a stacklet's build emits
 * each role group's address ConfigMap empty; before applying, the operator fills it from the
 * cluster — the pods' own Services as the API server allocated them (nodePorts, load balancer
 * ingress), the node each pod was scheduled to, and that node's addresses. Level-triggered like the
 * rest of the reconcile: a Service, a pod's node or a node's addresses changing requeues the
 * stacklet, and the next build fills in what is known then.
 */
import type { Service } from '../../imports/k8s-wire';
import {
  bindAdvertisedPorts,
  LISTENER_ADDRESSES_LABEL,
  LISTENER_ANNOTATION,
  listenerAddressData,
  type ListenerAddressing,
} from '../listener/pod-listener';
import { LABEL_COMPONENT, LABEL_INSTANCE } from '../stacklet/labels';
import { NODE_TOPOLOGY_ANNOTATION, topologyTable, type NodeTopology } from '../topology/node-topology';
import type { Manifest } from './build';
import type { KubeObject } from './informer';

/** What the operator's caches give the filling step. */
export interface ListenerCaches {
  /** keelson's Services of a namespace (the child cache). */
  readonly services: (namespace: string) => readonly KubeObject[];
  /** The node a pod of the namespace is scheduled to, if it is. */
  readonly podNode: (namespace: string, pod: string) => string | undefined;
  /** A node's addresses (`status.addresses`), by node name. */
  readonly nodeAddresses: (node: string) => readonly { type: string; address: string }[] | undefined;
}

/** True for a role group's address ConfigMap as a build emits it. */
export function isListenerAddressMap(manifest: Manifest): boolean {
  return (
    manifest.kind === 'ConfigMap' &&
    manifest.metadata.labels?.[LISTENER_ADDRESSES_LABEL] !== undefined &&
    manifest.metadata.annotations?.[LISTENER_ANNOTATION] !== undefined
  );
}

/**
 * `desired` with each address ConfigMap's data filled from the cluster, and the pods' own Services
 * of a listener that binds its advertised port forwarding each nodePort to the same port number.
 */
export function fillListenerAddresses(
  desired: readonly Manifest[],
  namespace: string,
  caches: ListenerCaches,
): Manifest[] {
  const binding = new Set(
    desired
      .filter(isListenerAddressMap)
      .filter(
        (m) =>
          (JSON.parse(m.metadata.annotations![LISTENER_ANNOTATION]) as ListenerAddressing)
            .bindsAdvertisedPort,
      )
      .map((m) => m.metadata.labels![LISTENER_ADDRESSES_LABEL]),
  );
  return desired.map((manifest) => {
    const workload = manifest.metadata.labels?.[LISTENER_ADDRESSES_LABEL];
    if (manifest.kind === 'Service' && workload !== undefined && binding.has(workload)) {
      const live = caches
        .services(namespace)
        .find((s) => s.kind === 'Service' && s.metadata.name === manifest.metadata.name);
      return bindAdvertisedPorts(
        manifest as unknown as Service,
        live as unknown as Service | undefined,
      ) as never;
    }
    if (!isListenerAddressMap(manifest)) return manifest;
    const addressing = JSON.parse(manifest.metadata.annotations![LISTENER_ANNOTATION]) as ListenerAddressing;
    const services = caches
      .services(namespace)
      .filter(
        (s) => s.kind === 'Service' && s.metadata.labels?.[LISTENER_ADDRESSES_LABEL] === workload!,
      ) as unknown as Service[];
    const podNodes = new Map<string, string>();
    const nodeAddresses = new Map<string, readonly { type: string; address: string }[]>();
    for (const service of services) {
      const pod = service.metadata?.name;
      const node = pod ? caches.podNode(namespace, pod) : undefined;
      if (!pod || !node) continue;
      podNodes.set(pod, node);
      const addresses = caches.nodeAddresses(node);
      if (addresses) nodeAddresses.set(node, addresses);
    }
    return { ...manifest, data: listenerAddressData(addressing, { services, podNodes, nodeAddresses }) };
  });
}

/**
 * What the operator keeps of a Node: its name, labels (node topology) and addresses (not its status
 * heartbeats).
 */
export function nodeAddressView(node: KubeObject): KubeObject {
  const status = (node.status ?? {}) as { addresses?: { type: string; address: string }[] };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.metadata.name,
      uid: node.metadata.uid,
      resourceVersion: node.metadata.resourceVersion,
      labels: node.metadata.labels,
    },
    status: { addresses: (status.addresses ?? []).map((a) => ({ type: a.type, address: a.address })) },
  };
}

/** What the operator's caches give the topology step (lib/topology). */
export interface TopologyCaches {
  /** keelson's pods of a namespace (the pod cache: labels, node, IP). */
  readonly pods: (namespace: string) => readonly KubeObject[];
  /** A node's labels, by node name; undefined for a node not (yet) known. */
  readonly nodeLabels: (node: string) => Readonly<Record<string, string>> | undefined;
}

/**
 * `desired` with each role group ConfigMap that asks for a node topology table
 * (`NODE_TOPOLOGY_ANNOTATION`) filled from the cluster: the pods of the named role of the same
 * stacklet (by the ConfigMap's instance label), their IPs and their nodes' labels.
 */
export function fillNodeTopology(
  desired: readonly Manifest[],
  namespace: string,
  caches: TopologyCaches,
): Manifest[] {
  return desired.map((manifest) => {
    const asked = manifest.metadata.annotations?.[NODE_TOPOLOGY_ANNOTATION];
    if (manifest.kind !== 'ConfigMap' || asked === undefined) return manifest;
    const topology = JSON.parse(asked) as NodeTopology;
    const instance = manifest.metadata.labels?.[LABEL_INSTANCE];
    const pods = caches
      .pods(namespace)
      .filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.metadata.labels?.[LABEL_INSTANCE] === instance &&
          p.metadata.labels?.[LABEL_COMPONENT] === topology.role,
      )
      .map((p) => ({
        ip: (p.status as { podIP?: string } | undefined)?.podIP,
        node: (p.spec as { nodeName?: string } | undefined)?.nodeName,
      }));
    const data = (manifest.data ?? {}) as Record<string, string>;
    return {
      ...manifest,
      data: { ...data, [topology.key]: topologyTable(topology, pods, caches.nodeLabels) },
    };
  });
}
