/**
 * An S3-compatible object store for the real-node tests of the lakehouse products: SeaweedFS's
 * `weed mini` (master, volume server, filer and S3 gateway in one process), built from the Go
 * module proxy by `build-binaries.sh s3` into $KEELSON_CACHE/s3, in a test-only image
 * (`keelson.test/seaweedfs:<digest>`: the static binary, /etc/passwd, /tmp) that runs as uid 10001
 * under the restricted Pod Security profile. The bucket is created at start; the credentials come
 * from a Secret with keelson's default keys (`accessKey`, `secretKey`), the same Secret an
 * S3Connection names.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildImage, keelsonCacheDir, type BuiltImage, type ImageRecipe } from '../../lib/image';
import { runBuildScript } from '../controlplane/cluster';
import { REAL_NODE_PLACEMENT, RESTRICTED_CONTAINER } from './real-node-support';

/** The S3 gateway's port. */
export const S3_STORE_PORT = 8333;

/** The store's data folder (an emptyDir). */
const DATA_DIR = '/data';

/** The image of `weed`: the binary, accounts for root and uid 10001, a /tmp. */
export function seaweedfsImageRecipe(weed: string): ImageRecipe {
  const binary = fs.realpathSync(weed);
  const digest = crypto.createHash('sha256').update(fs.readFileSync(binary)).digest('hex');
  return {
    reference: `keelson.test/seaweedfs:${digest.slice(0, 12)}`,
    layers: [
      {
        description: "SeaweedFS's weed, built from the Go module proxy",
        inputs: () => ({ weed: digest }),
        build: async (tree) => {
          tree.addHostFile('usr/bin/weed', binary, { mode: 0o755 });
          tree.addDirectory('tmp', { mode: 0o1777 });
          tree.addDirectory('data', { mode: 0o1777 });
          tree.addFile(
            'etc/passwd',
            'root:x:0:0:root:/root:/sbin/nologin\nkeelson:x:10001:10001::/tmp:/sbin/nologin\n',
          );
          tree.addFile('etc/group', 'root:x:0:\nkeelson:x:10001:\n');
        },
      },
    ],
    config: { user: '10001:10001', entrypoint: ['/usr/bin/weed'], workingDir: '/tmp' },
  };
}

/** Builds `weed` (a no-op once cached) and its image; the archive lands in the cache. */
export async function buildS3StoreImage(log: (message: string) => void): Promise<BuiltImage> {
  const dir = await runBuildScript('s3', log);
  const outDir = path.join(keelsonCacheDir(), 'images', 'archives');
  return buildImage(seaweedfsImageRecipe(path.join(dir, 'weed')), outDir, { log });
}

export interface S3StoreOptions {
  /** The pod's and the Service's name. */
  readonly name: string;
  /** The image reference (from buildS3StoreImage). */
  readonly image: string;
  /** The bucket `weed mini` creates at start. */
  readonly bucket: string;
  /** The Secret with `accessKey` and `secretKey`. */
  readonly secretName: string;
}

/**
 * The store's pod and Service (`<name>:8333`). `weed mini` makes the identity of the
 * `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` it is given (requests must be signed with them) and
 * creates the bucket before it prints its welcome message. Its other servers listen on the pod's
 * loopback only (`-ip=127.0.0.1`); WebDAV, the admin UI, the Iceberg and Lance endpoints and the
 * usage reports are off.
 */
export function s3StoreObjects(options: S3StoreOptions): object[] {
  const labels = { app: options.name };
  const secret = (key: string) => ({ secretKeyRef: { name: options.secretName, key } });
  return [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: options.name, labels },
      spec: {
        ...REAL_NODE_PLACEMENT,
        // weed reads a variable named like a flag as that flag (`S3_PORT` as -s3.port): no
        // Service variables, whose names (`S3_PORT=tcp://…` for a Service named s3) collide.
        enableServiceLinks: false,
        securityContext: { runAsNonRoot: true, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'weed',
            image: options.image,
            imagePullPolicy: 'Never',
            args: [
              '-logtostderr',
              'mini',
              `-dir=${DATA_DIR}`,
              '-ip=127.0.0.1',
              '-ip.bind=0.0.0.0',
              `-bucket=${options.bucket}`,
              '-webdav=false',
              '-admin.ui=false',
              '-s3.port.iceberg=0',
              '-s3.port.lance=0',
              // No usage reports (the pod has no route out anyway).
              '-master.telemetry=false',
            ],
            env: [
              { name: 'AWS_ACCESS_KEY_ID', valueFrom: secret('accessKey') },
              { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: secret('secretKey') },
              { name: 'HOME', value: '/tmp' },
            ],
            ports: [{ name: 's3', containerPort: S3_STORE_PORT }],
            readinessProbe: {
              httpGet: { path: '/healthz', port: S3_STORE_PORT },
              periodSeconds: 2,
            },
            resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } },
            securityContext: RESTRICTED_CONTAINER,
            volumeMounts: [
              { name: 'data', mountPath: DATA_DIR },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: options.name },
      spec: { selector: labels, ports: [{ name: 's3', port: S3_STORE_PORT, targetPort: 's3' }] },
    },
  ];
}

/**
 * A shell command (for a pod with curl ≥ 7.75) that lists `bucket`'s keys under `prefix` through
 * the S3 API (ListObjectsV2, signed with SigV4 from `$S3_ACCESS_KEY`/`$S3_SECRET_KEY`), one
 * `key: <key>` line each.
 */
export function listObjectsCommand(endpoint: string, bucket: string, prefix: string): string {
  return (
    `curl -sfS --aws-sigv4 'aws:amz:us-east-1:s3' --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" ` +
    `'${endpoint}/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}' ` +
    `| grep -o '<Key>[^<]*</Key>' | sed 's#<Key>\\(.*\\)</Key>#key: \\1#'`
  );
}
