/**
 * A product's reference to a ZooKeeper (`spec.clusterConfig.zookeeperConfigMapName`), checked the
 * same way wherever a product's ZooKeeper clients speak neither TLS nor client certificates yet.
 */
import type { StackletContext } from '../../lib';
import { ZOOKEEPER_DISCOVERY_KEYS } from './zookeeper';

/**
 * What is wrong with the ZooKeeper discovery ConfigMap `name` for `product`: not a ZooKeeper's
 * discovery (no hosts), a ZooKeeper whose client port speaks TLS, or one that asks every client for
 * a certificate, which `product`'s clients do not show (refused here with a message rather than
 * failing at connect, where a plaintext client only times out). Empty when `name` is unset.
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
  const serverTlsClass = discovery?.[ZOOKEEPER_DISCOVERY_KEYS.tlsClass];
  if (serverTlsClass && !certificateClass) {
    problems.push(
      `${field}: the ZooKeeper of "${name}" serves its client port over TLS (TlsClass ` +
        `"${serverTlsClass}"), which ${product}'s ZooKeeper clients do not speak yet: name a ZooKeeper ` +
        'whose client port is plaintext (its spec.clusterConfig.tls.enabled false)',
    );
  }
  if (certificateClass) {
    problems.push(
      `${field}: the ZooKeeper of "${name}" asks every client for a ` +
        `certificate of the TlsClass "${certificateClass}" (a tls AuthenticationClass), which ${product}'s ` +
        'ZooKeeper clients do not show yet: name a ZooKeeper without client certificates',
    );
  }
  return problems;
}
