/**
 * Per-pod listeners: a role whose clients must reach each pod by an address of its own (Kafka's
 * brokers, which hand clients the address of each partition's leader) declares
 * `RoleDefinition.podListener`. When the role's ListenerClass is not ClusterIP, keelson makes one
 * Service per pod of that class (selecting the pod by `statefulset.kubernetes.io/pod-name`), the
 * keelson operator writes each pod's reachable address into a ConfigMap per role group, and the
 * pod's start waits for its own entry. A ClusterIP class needs none of it: a pod's address is its
 * stable DNS name under the role group's headless Service, known before it starts.
 *
 * The ConfigMap `<workload>-listeners`, mounted read-only at `/keelson/listener` (optional, so a pod
 * starts before the operator wrote it), holds for each pod:
 *   <pod>.node          the node the address was found for (the pod's `spec.nodeName`)
 *   <pod>.host          the host clients reach: a NodePort class's node address (ExternalIP or
 *                       InternalIP, as the class prefers), a LoadBalancer's ingress ip or hostname
 *   <pod>.port.<name>   the port, per port of the pod listener: the nodePort, or the Service's port
 * A pod waits until `<pod>.node` names its own node (`KEELSON_NODE_NAME`), so an entry written for
 * the node a pod ran on before it moved is never used.
 */
import type { EnvVar, Service, VolumeMount } from '../../imports/k8s-wire';
import type { ListenerClassInfo, NodeAddressType } from './class';

/** Where a pod finds the addresses of its role group's pods. */
export const LISTENER_MOUNT_DIR = '/keelson/listener';
/** The volume of the address ConfigMap. */
export const LISTENER_VOLUME = 'listener-addresses';
/** A container's read-only mount of the listener addresses (a container that runs `listenerAddressScript`). */
export const LISTENER_MOUNT: VolumeMount = {
  name: LISTENER_VOLUME,
  mountPath: LISTENER_MOUNT_DIR,
  readOnly: true,
};
/** The environment variables the framework gives a pod with a per-pod listener. */
export const LISTENER_ENV = { podName: 'KEELSON_POD_NAME', nodeName: 'KEELSON_NODE_NAME' } as const;
/** The environment `listenerAddressScript` reads: the pod's name and the node it runs on. */
export const LISTENER_ENV_VARS: readonly EnvVar[] = [
  { name: LISTENER_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: LISTENER_ENV.nodeName, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
];
/** The label of a pod's own Service, naming the pod it selects. */
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/**
 * The label on a role group's address ConfigMap and on its pods' own Services (value: the role
 * group's workload), by which the operator finds the Services whose addresses it writes.
 */
export const LISTENER_ADDRESSES_LABEL = 'keelson.dev/listener-addresses';
/** The annotation on an address ConfigMap that tells the operator how to find the addresses (JSON). */
export const LISTENER_ANNOTATION = 'keelson.dev/listener';

/** What the operator needs to fill an address ConfigMap, as `LISTENER_ANNOTATION` carries it. */
export interface ListenerAddressing {
  readonly serviceType: 'NodePort' | 'LoadBalancer';
  /** The ports of the listener, by name. */
  readonly ports: readonly string[];
  /** NodePort: the node address type to advertise first. */
  readonly preferredNodeAddressType?: NodeAddressType;
  /**
   * NodePort: the pod listens on its nodePort's number (the process advertises the port it binds),
   * so the operator sets each pod Service's `targetPort` to its allocated `nodePort`.
   */
  readonly bindsAdvertisedPort?: boolean;
}

/** A role group's per-pod listener, when its class is not ClusterIP. */
export interface RoleGroupListener extends ListenerAddressing {
  readonly className: string;
  /** The ConfigMap the operator writes the pods' addresses into. */
  readonly addressConfigMap: string;
}

/** The address ConfigMap of a role group. */
export function listenerAddressesName(workload: string): string {
  return `${workload}-listeners`;
}

/** The name of pod `ordinal`'s own Service: the pod's name. */
export function podServiceName(workload: string, ordinal: number): string {
  return `${workload}-${ordinal}`;
}

/** The role group's listener, or undefined when its pods need no address beyond their DNS name. */
export function roleGroupListener(
  podPorts: readonly string[] | undefined,
  listenerClass: ListenerClassInfo | undefined,
  workload: string,
  bindsAdvertisedPort = false,
): RoleGroupListener | undefined {
  if (!podPorts || !listenerClass || listenerClass.spec.serviceType === 'ClusterIP') return undefined;
  return {
    className: listenerClass.name,
    serviceType: listenerClass.spec.serviceType,
    addressConfigMap: listenerAddressesName(workload),
    ports: podPorts,
    ...(listenerClass.spec.preferredNodeAddressType
      ? { preferredNodeAddressType: listenerClass.spec.preferredNodeAddressType }
      : {}),
    // A LoadBalancer's port is the Service's own, which is the pod's: nothing to bind differently.
    ...(bindsAdvertisedPort && listenerClass.spec.serviceType === 'NodePort'
      ? { bindsAdvertisedPort: true }
      : {}),
  };
}

/**
 * The pod ports a per-pod listener that binds its advertised port may listen on: the API server's
 * default nodePort range (`--service-node-port-range`). The NetworkPolicy admits these.
 */
export const NODE_PORT_RANGE = { from: 30000, to: 32767 } as const;

/**
 * A pod's own Service of a listener that binds its advertised port, as the operator applies it: each
 * port forwards to the same number in the pod as its allocated nodePort (`live`); a port not
 * allocated yet keeps the role's port until the next reconcile.
 */
export function bindAdvertisedPorts(desired: Service, live: Service | undefined): Service {
  const ports = desired.spec?.ports?.map((port) => {
    const nodePort = live?.spec?.ports?.find((p) => p.name === port.name)?.nodePort;
    return nodePort === undefined ? port : { ...port, nodePort, targetPort: nodePort as never };
  });
  return ports ? { ...desired, spec: { ...desired.spec, ports } } : desired;
}

/** The Service fields a class sets, beside type, selector and ports. */
export function classServiceFields(
  listenerClass: ListenerClassInfo,
  perPod: boolean,
): Pick<NonNullable<Service['spec']>, 'type' | 'externalTrafficPolicy' | 'loadBalancerClass'> {
  const spec = listenerClass.spec;
  const external = spec.serviceType !== 'ClusterIP';
  return {
    type: spec.serviceType,
    // A pod's own Service is reached at its pod's node: Local skips the hop to another node and keeps
    // the client's address. A role's Service spreads over its pods: Cluster answers on every node.
    ...(external
      ? { externalTrafficPolicy: spec.externalTrafficPolicy ?? (perPod ? 'Local' : 'Cluster') }
      : {}),
    ...(spec.loadBalancerClass ? { loadBalancerClass: spec.loadBalancerClass } : {}),
  };
}

/**
 * The bash lines a start script runs to learn the pod's reachable address: they wait until the
 * operator wrote the pod's entry for its node, then set `listener_host` and `listener_port_<port>`
 * (the port name with `-` as `_`) for each port of the listener.
 */
export function listenerAddressScript(listener: RoleGroupListener): string[] {
  const entry = `${LISTENER_MOUNT_DIR}/\${${LISTENER_ENV.podName}}`;
  return [
    `until [ "$(cat "${entry}.node" 2>/dev/null)" = "\${${LISTENER_ENV.nodeName}}" ]; do`,
    `  echo "waiting for the keelson operator to write this pod's ${listener.serviceType} address (ConfigMap ${listener.addressConfigMap})"`,
    '  sleep 2',
    'done',
    `listener_host=$(cat "${entry}.host")`,
    ...listener.ports.map((p) => `listener_port_${p.replace(/-/g, '_')}=$(cat "${entry}.port.${p}")`),
  ];
}

/** The facts of the cluster the operator reads a pod's address from. */
export interface ListenerFacts {
  /** The role group's pods' own Services as the API server has them (nodePorts allocated, ingress). */
  readonly services: readonly Service[];
  /** The node of each pod of the role group that is scheduled, by pod name. */
  readonly podNodes: ReadonlyMap<string, string>;
  /** Each node's addresses, by node name. */
  readonly nodeAddresses: ReadonlyMap<string, readonly { type: string; address: string }[]>;
}

/** A node's address of the preferred type, else of the other of ExternalIP and InternalIP. */
export function nodeAddress(
  addresses: readonly { type: string; address: string }[],
  preferred: NodeAddressType,
): string | undefined {
  const other: NodeAddressType = preferred === 'ExternalIP' ? 'InternalIP' : 'ExternalIP';
  return (
    addresses.find((a) => a.type === preferred)?.address ?? addresses.find((a) => a.type === other)?.address
  );
}

/**
 * The data of a role group's address ConfigMap: an entry for each pod whose address is known (its
 * Service has its nodePort or ingress, the pod is scheduled, its node has an address). Pods whose
 * address is not known yet get no entry; they wait, and the operator writes it when it is.
 */
export function listenerAddressData(
  listener: ListenerAddressing,
  facts: ListenerFacts,
): Record<string, string> {
  const preferred = listener.preferredNodeAddressType ?? 'ExternalIP';
  const data: Record<string, string> = {};
  for (const service of facts.services) {
    const pod = service.spec?.selector?.[POD_NAME_LABEL];
    if (!pod) continue;
    const node = facts.podNodes.get(pod);
    if (!node) continue;
    let host: string | undefined;
    if (listener.serviceType === 'NodePort')
      host = nodeAddress(facts.nodeAddresses.get(node) ?? [], preferred);
    else {
      const ingress = service.status?.loadBalancer?.ingress?.[0];
      host = ingress?.ip ?? ingress?.hostname;
    }
    if (!host) continue;
    const ports: Record<string, string> = {};
    for (const name of listener.ports) {
      const port = service.spec?.ports?.find((p) => p.name === name);
      const value = listener.serviceType === 'NodePort' ? port?.nodePort : port?.port;
      if (value === undefined) break;
      ports[`${pod}.port.${name}`] = String(value);
    }
    if (Object.keys(ports).length !== listener.ports.length) continue;
    Object.assign(data, { [`${pod}.node`]: node, [`${pod}.host`]: host }, ports);
  }
  return data;
}
