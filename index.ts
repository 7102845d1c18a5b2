/**
 * `keelson`: what a platform program uses — the products' constructs and their spec types, the
 * shared spec types, `synth`, and what a program may check or catch. Everything needed to write a
 * product of your own (schemas, the build pipeline, config file writers, merging, the operator's
 * command line) is in `keelson/framework`.
 */

// The products: every type (props, specs, config types), and the values a program uses.
export type * from './constructs';
export {
  HdfsCluster,
  HiveCluster,
  KafkaCluster,
  OpaCluster,
  TrinoCatalog,
  TrinoCluster,
  ZookeeperCluster,
  ZookeeperZnode,
  HDFS_DISCOVERY_KEY,
  HDFS_PORTS,
  HIVE_DISCOVERY_KEY,
  HIVE_METASTORE_PORT,
  KAFKA_DISCOVERY_KEY,
  KAFKA_PORTS,
  OPA_DISCOVERY_KEYS,
  OPA_POLICY_LABEL,
  OPA_PORTS,
  TRINO_DISCOVERY_KEY,
  TRINO_HTTP_PORT,
  ZOOKEEPER_DISCOVERY_KEYS,
  ZOOKEEPER_PORTS,
} from './constructs';

// External services the products connect to.
export type * from './lib/external';
export { S3Connection } from './lib';

// The spec shape every product shares, and the Kubernetes types its overrides are written in.
export type * from './lib/spec/common';
export type { Affinity, Patch, PodTemplatePatch, PodTemplateSpec } from './lib/spec/kubernetes';

// What every stacklet is, and what a program may check or catch.
export { Stacklet, SpecValidationError, API_GROUP, API_VERSION } from './lib';
export type { IStacklet, StackletOptions } from './lib';

// Where TLS certificates come from.
export { TlsClass } from './lib';
export type { TlsClassSpec, KeelsonCaProvider, SecretCaProvider } from './lib';

// How the pods of a role are reached (the Services' type and settings).
export { ListenerClass } from './lib';
export type { ListenerClassSpec } from './lib';

// Writing the manifests.
export { synth, synthReport } from './lib';
