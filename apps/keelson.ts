#!/usr/bin/env node
/**
 * The `keelson` command of the npm package: the operator, CRDs and the operator's own deployment
 * for every product keelson ships.
 */
import { keelsonCli } from '../lib/cli';
import {
  HBASE,
  HDFS,
  HIVE,
  KAFKA,
  OPA,
  TRINO,
  TRINO_CATALOG,
  ZOOKEEPER,
  ZOOKEEPER_ZNODE,
} from '../constructs';
import { S3_CONNECTION } from '../lib';
import type { ProductImages } from '../lib/image';
import { HIVE_IMAGES } from '../constructs/hive/image';
import { HDFS_IMAGES } from '../constructs/hdfs/image';
import { HBASE_IMAGES } from '../constructs/hbase/image';
import { KAFKA_IMAGES } from '../constructs/kafka/image';
import { ZOOKEEPER_IMAGES } from '../constructs/zookeeper/image';
import { TRINO_IMAGES } from '../constructs/trino/image';
import { OPA_IMAGES } from '../constructs/opa/image';
import { LOG_AGENT_IMAGES } from '../lib/logging/image';
import { KRB5_TOOLS_IMAGES } from '../lib/authentication/krb5-tools-image';
import { OPERATOR_IMAGES } from '../lib/operator/image';

/** Every product the package ships, in the order their CRDs are written. */
export const PRODUCTS = [
  ZOOKEEPER,
  ZOOKEEPER_ZNODE,
  KAFKA,
  S3_CONNECTION,
  HIVE,
  TRINO_CATALOG,
  TRINO,
  HDFS,
  HBASE,
  OPA,
];

/** The images `keelson image build` builds: one entry per product with an image recipe. */
export const IMAGES: ProductImages[] = [
  OPERATOR_IMAGES,
  LOG_AGENT_IMAGES,
  KRB5_TOOLS_IMAGES,
  ZOOKEEPER_IMAGES,
  KAFKA_IMAGES,
  HIVE_IMAGES,
  TRINO_IMAGES,
  HDFS_IMAGES,
  HBASE_IMAGES,
  OPA_IMAGES,
];

if (require.main === module) {
  keelsonCli(PRODUCTS, IMAGES)
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    });
}
