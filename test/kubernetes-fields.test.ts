import { Chart, Testing } from 'cdk8s';
import { KafkaCluster } from '../constructs/kafka';
import { ZookeeperCluster } from '../constructs/zookeeper';
import { kubernetesFieldProblems } from '../lib';
import { BeaconCluster, type BeaconClusterProps } from './example-product/beacon';

function problems(spec: BeaconClusterProps): readonly string[] {
  return new BeaconCluster(new Chart(Testing.app(), 'platform', { namespace: 'data' }), 'demo', spec)
    .problems;
}

describe('podOverrides and affinity are checked against the core Kubernetes schema at synth', () => {
  test('rejects a misspelled pod field, naming its path and the field meant', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const zk = new ZookeeperCluster(chart, 'zk');
    const kafka = new KafkaCluster(chart, 'kafka', {
      zookeeper: zk,
      brokers: {
        podOverrides: {
          // @ts-expect-error: the type rejects the misspelling too
          spec: { containers: [{ name: 'kafka', resourcse: { limits: { cpu: '2' } } }] },
        },
      },
    });
    expect(kafka.problems).toEqual([
      'spec.brokers.podOverrides.spec.containers[0].resourcse: unknown field; did you mean resources?',
    ]);
    expect(() => Testing.synth(chart)).toThrow(
      '[platform/kafka] KafkaCluster "kafka": spec.brokers.podOverrides.spec.containers[0].resourcse: unknown field',
    );
  });

  test('checks role groups, affinity and the kinds of values, and names an unknown field with no near one', () => {
    expect(
      problems({
        servers: {
          roleGroups: {
            big: {
              podOverrides: {
                metadata: { labels: { team: 'data' } },
                spec: {
                  terminationGracePeriodSeconds: 'soon',
                  volumes: { name: 'x' },
                  containers: [{ name: 'beacon', ports: [{ containerPort: 80, hostnetwork: true }] }],
                },
              } as never,
              config: { affinity: { nodeAfinity: {}, podAntiAffinity: { zzz: 1 } } as never },
            },
          },
        },
      }),
    ).toEqual([
      'spec.servers.roleGroups.big.podOverrides.spec.terminationGracePeriodSeconds: must be an integer, not "soon"',
      'spec.servers.roleGroups.big.podOverrides.spec.volumes: must be a list, not an object',
      'spec.servers.roleGroups.big.podOverrides.spec.containers[0].ports[0].hostnetwork: unknown field',
      'spec.servers.roleGroups.big.config.affinity.nodeAfinity: unknown field; did you mean nodeAffinity?',
      'spec.servers.roleGroups.big.config.affinity.podAntiAffinity.zzz: unknown field',
    ]);
  });

  test('accepts what the merge accepts: null to remove a field, $patch: delete, quantities as numbers', () => {
    expect(
      problems({
        servers: {
          podOverrides: {
            metadata: { annotations: { a: 'b' } },
            spec: {
              priorityClassName: null,
              containers: [{ name: 'beacon', resources: { limits: { cpu: 2, memory: '1Gi' } } }],
              volumes: [{ name: 'scratch', $patch: 'delete' }],
              tolerations: [{ key: 'dedicated', operator: 'Exists' }],
            },
          },
          config: {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] }],
                },
              },
            },
          },
        },
      }),
    ).toEqual([]);
  });

  test('a label selector of an allowed client is checked too', () => {
    expect(
      problems({
        clusterConfig: {
          networkPolicy: { allowedClients: [{ podSelector: { matchLabel: { a: 'b' } } as never }] },
        },
      }),
    ).toEqual([
      'spec.clusterConfig.networkPolicy.allowedClients[0].podSelector.matchLabel: unknown field; did you mean matchLabels?',
    ]);
  });

  test('kubernetesFieldProblems checks any definition of the wire schema', () => {
    expect(kubernetesFieldProblems('io.k8s.api.core.v1.Affinity', { podAffinity: [] }, 'x')).toEqual([
      'x.podAffinity: must be an object, not a list',
    ]);
  });
});
