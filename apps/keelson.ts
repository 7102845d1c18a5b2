#!/usr/bin/env node
/**
 * The `keelson` command of the npm package: the operator, CRDs and the operator's own deployment
 * for every product keelson ships.
 */
import { keelsonCli } from '../lib/cli';
import { KAFKA, ZOOKEEPER, ZOOKEEPER_ZNODE } from '../constructs';

/** Every product the package ships, in the order their CRDs are written. */
export const PRODUCTS = [ZOOKEEPER, ZOOKEEPER_ZNODE, KAFKA];

if (require.main === module) {
  keelsonCli(PRODUCTS)
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    });
}
