/**
 * A product's reference to a ZooKeeper (`spec.clusterConfig.zookeeperConfigMapName`), checked the
 * same way wherever a product's ZooKeeper clients cannot show a client certificate yet.
 */
import type { StackletContext } from '../../lib';
import { ZOOKEEPER_DISCOVERY_KEYS } from './zookeeper';

/**
 * What is wrong with the ZooKeeper discovery ConfigMap `name` for `product`: not a ZooKeeper's
 * discovery (no hosts), or a ZooKeeper that asks every client for a certificate, which `product`'s
 * clients do not show (refused here rather than failing at connect). Empty when `name` is unset.
 */
export function zookeeperReferenceProblems(
  dependencies: StackletContext['dependencies'],
  name: string | undefined,
  product: string,
): string[] {
  if (!name) return [];
  const field = 'spec.clusterConfig.zookeeperConfigMapName';
  const discovery = dependencies[name];
  const problems: string[] = [];
  if (!discovery?.[ZOOKEEPER_DISCOVERY_KEYS.hosts]) {
    problems.push(
      `${field}: the ConfigMap "${name}" has no ${ZOOKEEPER_DISCOVERY_KEYS.hosts}; ` +
        'name the discovery ConfigMap of a ZookeeperZnode or ZookeeperCluster',
    );
  }
  const certificateClass = discovery?.[ZOOKEEPER_DISCOVERY_KEYS.clientCertificateClass];
  if (certificateClass) {
    problems.push(
      `${field}: the ZooKeeper of "${name}" asks every client for a ` +
        `certificate of the TlsClass "${certificateClass}" (a tls AuthenticationClass), which ${product}'s ` +
        'ZooKeeper clients do not show yet: name a ZooKeeper without client certificates',
    );
  }
  return problems;
}
