/**
 * A Thrift client of the Hive metastore for the real-node tests: test/support/MetastoreProbe.java,
 * compiled here against the metastore's jars (keelson's image has a JRE, not a compiler), shipped
 * to the namespace as a ConfigMap and run as a client pod of keelson's own Hive image.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { compileMetastoreProbe, hiveTestHome } from '../support/hive-home';
import { runClientPod } from './real-node-support';
import { adminClients } from './support';

const CONFIG_MAP = 'metastore-probe';

/** Compiles the probe and stores its class in the ConfigMap `metastore-probe` of `namespace`. */
export async function publishMetastoreProbe(namespace: string, version: string): Promise<void> {
  const classes = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-metastore-probe-'));
  try {
    compileMetastoreProbe(await hiveTestHome(version), classes);
    await adminClients().core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: CONFIG_MAP },
        binaryData: {
          'MetastoreProbe.class': fs
            .readFileSync(path.join(classes, 'MetastoreProbe.class'))
            .toString('base64'),
        },
      },
    });
  } finally {
    fs.rmSync(classes, { recursive: true, force: true });
  }
}

/** What one run of the probe does. */
export interface MetastoreProbeRun {
  /** The client pod's name. */
  readonly name: string;
  /** The Hive version of keelson's image the probe runs in. */
  readonly version: string;
  /** `thrift://…:9083` of the metastore. */
  readonly uri: string;
  /** A database to create. @default none: only list */
  readonly database?: string;
  /** A partitioned table to create in `database` and find a partition of. @default none */
  readonly table?: string;
}

/**
 * Runs the probe (published before with {@link publishMetastoreProbe}) and returns its output: a
 * `database: <name>` line per database the metastore lists, and with `table` a `partition: <value>`
 * line per partition a filter finds (see MetastoreProbe.java). A failing probe fails the test with
 * its output and what `diagnostics` adds (the metastore's logs).
 */
export function runMetastoreProbe(
  namespace: string,
  run: MetastoreProbeRun,
  diagnostics: () => Promise<string>,
): Promise<string> {
  return runClientPod(
    namespace,
    {
      name: run.name,
      image: hiveImageRecipe(run.version).reference,
      command: [
        'java',
        '-Xmx192m',
        ...(run.table ? [`-Dprobe.table=${run.table}`] : []),
        '-cp',
        '/probe:/opt/hive/lib/*',
        'MetastoreProbe',
        run.uri,
        ...(run.database ? [run.database] : []),
      ],
      volumes: [{ volume: { name: 'probe', configMap: { name: CONFIG_MAP } }, mountPath: '/probe' }],
    },
    diagnostics,
  );
}
