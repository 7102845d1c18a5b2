/**
 * What an operator of a ZooKeeper ensemble watches, from the names ZooKeeper's own Prometheus
 * metrics provider serves on the metrics port (each seen in the real-node test's scrape).
 */
import { runningReplicas, type ProductMonitoring } from '../../lib';

/** The metric names ZooKeeper's rules and dashboard read. */
export const ZOOKEEPER_METRIC_NAMES = [
  'znode_count',
  'num_alive_connections',
  'outstanding_requests',
  'avg_latency',
  'quorum_size',
  'leader_uptime',
  'synced_followers',
] as const;

export const ZOOKEEPER_MONITORING: ProductMonitoring = {
  metricNames: ZOOKEEPER_METRIC_NAMES,
  rules: (stacklet, sel) => {
    const n = runningReplicas(stacklet, 'servers');
    const majority = Math.floor(n / 2) + 1;
    return [
      {
        name: 'quorum',
        rules: [
          { record: 'stacklet:zookeeper_servers_up:sum', expr: `sum(up{${sel}, role="servers"})` },
          { record: 'stacklet:znode_count:max', expr: `max(znode_count{${sel}})` },
          { record: 'stacklet:zookeeper_connections:sum', expr: `sum(num_alive_connections{${sel}})` },
          // A stopped ensemble runs no server: nothing to lose.
          ...(n === 0
            ? []
            : [
                {
                  alert: 'ZookeeperQuorumLost',
                  expr: `(sum(up{${sel}, role="servers"}) or vector(0)) < ${majority}`,
                  for: '1m',
                  severity: 'critical' as const,
                  summary: `Fewer than ${majority} of the ${n} ZooKeeper servers answer: the ensemble has no quorum.`,
                  description:
                    'Without a majority of its servers the ensemble elects no leader and serves no writes ' +
                    '(nor reads of clients that sync). Look at the servers that are down (KeelsonMetricsTargetDown).',
                },
                {
                  alert: 'ZookeeperNoLeader',
                  expr: `(count(leader_uptime{${sel}}) or vector(0)) == 0`,
                  for: '1m',
                  severity: 'critical' as const,
                  summary: 'No ZooKeeper server of the ensemble is the leader.',
                  description:
                    'Only the leader serves leader_uptime. Without a leader the ensemble serves no requests; ' +
                    "an election that does not end points at the servers' network (ports 2888, 3888) or their logs.",
                },
                ...(n > 1
                  ? [
                      {
                        alert: 'ZookeeperFollowersNotSynced',
                        expr: `max(synced_followers{${sel}}) < ${n - 1}`,
                        for: '5m',
                        severity: 'warning' as const,
                        summary: `The leader has {{ $value }} of ${n - 1} followers in sync.`,
                        description:
                          'A follower that is not in sync does not count towards the quorum: one more failure may ' +
                          'stop the ensemble.',
                      },
                    ]
                  : []),
              ]),
        ],
      },
    ];
  },
  dashboard: (_stacklet, sel) => [
    {
      title: 'Znodes',
      description: 'The number of znodes in the data tree (the highest of the servers).',
      queries: [{ expr: `max(znode_count{${sel}})`, legend: 'znodes' }],
    },
    {
      title: 'Client connections',
      description: 'Open client connections per server.',
      queries: [{ expr: `num_alive_connections{${sel}}`, legend: '{{pod}}' }],
    },
    {
      title: 'Outstanding requests',
      description: 'Requests queued on each server; a lasting queue means the server cannot keep up.',
      queries: [{ expr: `outstanding_requests{${sel}}`, legend: '{{pod}}' }],
    },
    {
      title: 'Average latency',
      description: 'Average request latency per server, in milliseconds (ZooKeeper ticks).',
      unit: 'ms',
      queries: [{ expr: `avg_latency{${sel}}`, legend: '{{pod}}' }],
    },
    {
      title: 'Quorum',
      description: 'Voting members configured, and followers in sync with the leader.',
      queries: [
        { expr: `max(quorum_size{${sel}})`, legend: 'quorum size' },
        { expr: `max(synced_followers{${sel}})`, legend: 'synced followers' },
      ],
    },
    {
      title: 'Leader uptime',
      description: 'How long the current leader has led; a reset is a new election.',
      unit: 'ms',
      queries: [{ expr: `leader_uptime{${sel}}`, legend: '{{pod}}' }],
    },
  ],
};
