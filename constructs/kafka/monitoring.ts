/**
 * What an operator of a Kafka cluster watches, from the names keelson's JMX exporter rules give
 * Kafka's metrics (constructs/kafka/README.md lists them).
 */
import type { ProductMonitoring } from '../../lib';

/** The metric names Kafka's rules and dashboard read. */
export const KAFKA_METRIC_NAMES = [
  'kafka_server_brokertopicmetrics_bytesin_total',
  'kafka_server_brokertopicmetrics_messagesin_total',
  'kafka_server_replicamanager_underreplicatedpartitions',
  'kafka_server_replicamanager_partitioncount',
  'kafka_controller_kafkacontroller_offlinepartitionscount',
  'kafka_controller_kafkacontroller_activecontrollercount',
] as const;

export const KAFKA_MONITORING: ProductMonitoring = {
  metricNames: KAFKA_METRIC_NAMES,
  rules: (_stacklet, sel) => [
    {
      name: 'partitions',
      rules: [
        // The series without a topic label count every topic.
        {
          record: 'stacklet:kafka_bytes_in:rate5m',
          expr: `sum(rate(kafka_server_brokertopicmetrics_bytesin_total{${sel}, topic=""}[5m]))`,
        },
        {
          record: 'stacklet:kafka_messages_in:rate5m',
          expr: `sum(rate(kafka_server_brokertopicmetrics_messagesin_total{${sel}, topic=""}[5m]))`,
        },
        {
          record: 'stacklet:kafka_under_replicated_partitions:sum',
          expr: `sum(kafka_server_replicamanager_underreplicatedpartitions{${sel}})`,
        },
        {
          alert: 'KafkaUnderReplicatedPartitions',
          expr: `sum(kafka_server_replicamanager_underreplicatedpartitions{${sel}}) > 0`,
          for: '5m',
          severity: 'warning',
          summary: '{{ $value }} partitions have fewer in-sync replicas than replicas.',
          description:
            'A broker is down, slow or cut off from the leaders: its replicas fell behind. One more failure may ' +
            'lose the data only the remaining replicas hold.',
        },
        {
          alert: 'KafkaOfflinePartitions',
          expr: `max(kafka_controller_kafkacontroller_offlinepartitionscount{${sel}}) > 0`,
          for: '1m',
          severity: 'critical',
          summary: '{{ $value }} partitions have no leader: producing to and consuming from them fails.',
          description:
            "Every replica of these partitions is on a broker that is down. Bring the brokers back; the controller's log names the partitions.",
        },
        {
          alert: 'KafkaNoActiveController',
          expr: `(sum(kafka_controller_kafkacontroller_activecontrollercount{${sel}}) or vector(0)) != 1`,
          for: '1m',
          severity: 'critical',
          summary: 'The cluster has {{ $value }} active controllers instead of one.',
          description:
            'Without one active controller no leader is elected for a partition whose leader fails, and no ' +
            'topic is created. Look at the controllers (KRaft quorum) and their logs.',
        },
      ],
    },
  ],
  dashboard: (_stacklet, sel) => [
    {
      title: 'Bytes in',
      description: 'Bytes produced to the brokers, per second, all topics.',
      unit: 'Bps',
      queries: [
        {
          expr: `sum(rate(kafka_server_brokertopicmetrics_bytesin_total{${sel}, topic=""}[5m]))`,
          legend: 'all',
        },
        {
          expr: `sum by (pod) (rate(kafka_server_brokertopicmetrics_bytesin_total{${sel}, topic=""}[5m]))`,
          legend: '{{pod}}',
        },
      ],
    },
    {
      title: 'Messages in',
      description: 'Messages produced to the brokers, per second, all topics.',
      unit: 'ops',
      queries: [
        {
          expr: `sum(rate(kafka_server_brokertopicmetrics_messagesin_total{${sel}, topic=""}[5m]))`,
          legend: 'all',
        },
      ],
    },
    {
      title: 'Partitions per broker',
      description: 'Partition replicas each broker holds.',
      queries: [{ expr: `kafka_server_replicamanager_partitioncount{${sel}}`, legend: '{{pod}}' }],
    },
    {
      title: 'Under-replicated and offline partitions',
      description: 'Partitions short of in-sync replicas, and partitions without a leader.',
      queries: [
        {
          expr: `sum(kafka_server_replicamanager_underreplicatedpartitions{${sel}})`,
          legend: 'under-replicated',
        },
        { expr: `max(kafka_controller_kafkacontroller_offlinepartitionscount{${sel}})`, legend: 'offline' },
      ],
    },
    {
      title: 'Active controllers',
      description: 'Controllers that are active; one is healthy.',
      queries: [
        { expr: `sum(kafka_controller_kafkacontroller_activecontrollercount{${sel}})`, legend: 'active' },
      ],
    },
  ],
};
