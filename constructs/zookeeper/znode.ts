/**
 * ZookeeperZnode: a consumer's own chroot in a ZooKeeper ensemble, published in a discovery
 * ConfigMap of its own, so that each consumer (a Kafka, an HBase, …) keeps its data under a path
 * no other consumer uses. It runs no pods: it is a product without roles, and its only object is
 * its discovery ConfigMap.
 *
 * The path is `/znode-<id>`, where `<id>` is derived from the ZNode's namespace and name, so synth
 * mode and the operator agree on it and it is stable across re-creation.
 *
 * What happens to the data: keelson never writes to ZooKeeper. The consumer creates the path on
 * first use (ZooKeeper clients given a chroot, such as Kafka's, create it), and deleting the
 * ZookeeperZnode deletes only its discovery ConfigMap — the znode and everything under it stay in
 * the ensemble. A ZookeeperZnode created again with the same name in the same namespace gets the
 * same path and so sees the old data again; to start empty, remove the path first
 * (`zkCli.sh deleteall /znode-<id>`) or choose another name.
 */
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { NetworkPolicyPeer } from '../../imports/k8s-wire';
import type { Construct } from 'constructs';
import { CLOSED, Stacklet, type IStacklet, type ProductDefinition, type StackletOptions } from '../../lib';
import { ZOOKEEPER_DISCOVERY_KEYS, zookeeperDiscovery } from './zookeeper';

export const ZookeeperZnodeSpecSchema = Type.Object(
  {
    clusterConfig: Type.Object(
      {
        zookeeperConfigMapName: Type.String({
          minLength: 1,
          description: 'The discovery ConfigMap of the ZookeeperCluster the znode lives in.',
        }),
      },
      { ...CLOSED, description: 'Where the znode lives.' },
    ),
  },
  { ...CLOSED, description: 'A chroot of its own in a ZooKeeper ensemble.' },
);
/** The spec of a ZookeeperZnode. */
import type { ZookeeperZnodeSpec } from './spec.generated';
export type { ZookeeperZnodeSpec };

/** The chroot of the ZNode `name` in `namespace`: `/znode-<16 hex digits>`. */
export function znodePath(namespace: string, name: string): string {
  return `/znode-${createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 16)}`;
}

/** The ZookeeperZnode product: no roles, only discovery. */
export const ZOOKEEPER_ZNODE: ProductDefinition<ZookeeperZnodeSpec> = {
  name: 'zookeeper-znode',
  kind: 'ZookeeperZnode',
  plural: 'zookeeperznodes',
  shortNames: ['znode'],
  description: 'A chroot of its own in a ZooKeeper ensemble, published in a discovery ConfigMap.',
  specSchema: ZookeeperZnodeSpecSchema,
  roles: [],
  dependencies: (spec): Record<string, string> => ({
    'spec.clusterConfig.zookeeperConfigMapName': spec.clusterConfig.zookeeperConfigMapName,
  }),
  validate: (stacklet) => {
    const name = stacklet.spec.clusterConfig.zookeeperConfigMapName;
    const hosts = stacklet.dependencies[name]?.[ZOOKEEPER_DISCOVERY_KEYS.hosts];
    return hosts
      ? []
      : [
          `spec.clusterConfig.zookeeperConfigMapName: the ConfigMap "${name}" has no ${ZOOKEEPER_DISCOVERY_KEYS.hosts}; ` +
            'name the discovery ConfigMap of a ZookeeperCluster',
        ];
  },
  discovery: (stacklet) => {
    const cluster = stacklet.dependencies[stacklet.spec.clusterConfig.zookeeperConfigMapName];
    return zookeeperDiscovery(
      cluster[ZOOKEEPER_DISCOVERY_KEYS.hosts],
      znodePath(stacklet.namespace ?? 'default', stacklet.name),
      cluster[ZOOKEEPER_DISCOVERY_KEYS.tlsClass],
      cluster[ZOOKEEPER_DISCOVERY_KEYS.clientCertificateClass],
    );
  },
};

/** Props of a ZookeeperZnode in synth mode. */
export interface ZookeeperZnodeProps {
  /** The ZookeeperCluster the znode lives in. @default - `clusterConfig.zookeeperConfigMapName` names it */
  readonly zookeeper?: IStacklet;
  /** As in the custom resource; set by `zookeeper` when that is given. */
  readonly clusterConfig?: { readonly zookeeperConfigMapName?: string };
}

/**
 * A consumer's own chroot in a ZooKeeper ensemble; pass it to the consumer as its ZooKeeper.
 * Its discovery ConfigMap has the ensemble's keys, with `ZOOKEEPER` and `ZOOKEEPER_CHROOT` pointing
 * at the znode. Clients admitted to it (`addAllowedClient`) are admitted to the ensemble.
 */
export class ZookeeperZnode extends Stacklet<ZookeeperZnodeSpec> {
  /** The znode's path in the ensemble: `/znode-<id>`. */
  public readonly path: string;
  private readonly cluster?: IStacklet;

  constructor(scope: Construct, id: string, props: ZookeeperZnodeProps, options: StackletOptions = {}) {
    const { zookeeper, ...rest } = props;
    const spec = {
      ...rest,
      clusterConfig: {
        ...rest.clusterConfig,
        ...(zookeeper ? { zookeeperConfigMapName: zookeeper.discoveryConfigMapName } : {}),
      },
    } as ZookeeperZnodeSpec;
    super(scope, id, ZOOKEEPER_ZNODE, spec, {
      ...options,
      dependencies: {
        ...options.dependencies,
        ...(zookeeper ? { [zookeeper.discoveryConfigMapName]: zookeeper.discoveryData } : {}),
      },
    });
    this.cluster = zookeeper;
    this.path = this.discoveryData[ZOOKEEPER_DISCOVERY_KEYS.chroot];
  }

  /** Admits `peer` to the ensemble the znode lives in (a znode has no pods of its own). */
  public override addAllowedClient(peer: NetworkPolicyPeer | IStacklet): void {
    this.cluster?.addAllowedClient(peer);
  }
}
