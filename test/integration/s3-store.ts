/**
 * An S3-compatible object store for the real-node tests of the lakehouse products: S3Proxy
 * (`org.gaul:s3proxy`, Apache-2.0), a real S3 API server that Maven Central serves as one jar with
 * its dependencies, on its `filesystem` backend (objects as files in an emptyDir). Its test-only
 * image (`keelson.test/s3proxy:<digest>`) is keelson's shared Debian 12 + OpenJDK 17 base, an
 * account for uid 10001 and the jar with a start script; it runs as uid 10001 under the restricted
 * Pod Security profile with a read-only root. Requests must be signed (AWS SigV2 or SigV4) with the
 * keys of a Secret with keelson's default keys (`accessKey`, `secretKey`), the same Secret an
 * S3Connection names; the bucket exists before the server answers.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import {
  accountsLayer,
  fetchMavenArtifact,
  JAVA_17_HOME,
  jre17BaseLayer,
  keelsonCacheDir,
  parseMavenCoordinates,
  type ImageRecipe,
} from '../../lib/image';
import { REAL_NODE_PLACEMENT, RESTRICTED_CONTAINER } from './real-node-support';

/** S3Proxy's release: its jar with every dependency (55 MB, Java 17). */
export const S3PROXY_ARTIFACT = 'org.gaul:s3proxy:4.1.0:jar:jar-with-dependencies';

/** The S3 API's port (S3Proxy's own default). */
export const S3_STORE_PORT = 8080;

/** The uid (and gid) the store runs as: the one keelson's own pods use. */
const STORE_UID = 10001;

/** Where the objects live (an emptyDir): one folder per bucket. */
const DATA_DIR = '/data';

const S3PROXY_JAR = '/opt/s3proxy/s3proxy.jar';

/**
 * The image's start script. S3Proxy reads its settings from a properties file only (or from
 * `-D` flags, which would put the key on the command line), so the file is written at start into
 * /tmp (an emptyDir), readable by the server's user alone, from `S3PROXY_IDENTITY` and
 * `S3PROXY_CREDENTIAL` (Secret references in the pod). Each bucket of `S3PROXY_BUCKETS` is a
 * folder made before the server starts; the filesystem backend keeps a bucket's canned ACL in the
 * folder's mode (others' read bit = public-read), hence 0700: private, like a bucket made through
 * the API. S3Proxy answers NotImplemented to a request with a header it does not know unless told to
 * ignore them; Trino's listings ask for the objects' restore status
 * (`x-amz-optional-object-attributes`), which the filesystem has none of.
 */
export const RUN_S3PROXY_SCRIPT = `#!/bin/bash
# keelson's run-s3proxy: S3Proxy on the filesystem under ${DATA_DIR}, on port ${S3_STORE_PORT}, signed
# requests only, with the key pair of $S3PROXY_IDENTITY and $S3PROXY_CREDENTIAL.
set -eu
: "\${S3PROXY_IDENTITY:?is the access key}" "\${S3PROXY_CREDENTIAL:?is the secret key}"
for bucket in \${S3PROXY_BUCKETS:-}; do mkdir -p -m 0700 "${DATA_DIR}/$bucket"; done
conf=/tmp/s3proxy.properties
escape() { local v="\${1//\\\\/\\\\\\\\}"; printf '%s' "\${v//$'\\n'/\\\\n}"; }
umask 077
cat > "$conf" <<EOF
s3proxy.endpoint=http://0.0.0.0:${S3_STORE_PORT}
s3proxy.authorization=aws-v2-or-v4
s3proxy.ignore-unknown-headers=true
s3proxy.identity=$(escape "$S3PROXY_IDENTITY")
s3proxy.credential=$(escape "$S3PROXY_CREDENTIAL")
jclouds.provider=filesystem
jclouds.filesystem.basedir=${DATA_DIR}
EOF
# shellcheck disable=SC2086
exec java -XX:+UseSerialGC -XX:MaxRAMPercentage=50 \${JAVA_OPTS:-} \\
  -Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener \\
  -jar ${S3PROXY_JAR} --properties "$conf"
`;

/** The image of S3Proxy's jar (`jar`, a file in keelson's Maven cache) on the shared JRE 17 base. */
export function s3proxyImageRecipe(jar: string): ImageRecipe {
  const jarDigest = crypto.createHash('sha256').update(fs.readFileSync(jar)).digest('hex');
  const tag = crypto.createHash('sha256').update(`${jarDigest}\n${RUN_S3PROXY_SCRIPT}`).digest('hex');
  return {
    reference: `keelson.test/s3proxy:${tag.slice(0, 12)}`,
    layers: [
      jre17BaseLayer(),
      accountsLayer([{ name: 's3proxy', uid: STORE_UID, gid: STORE_UID }]),
      {
        description: `S3Proxy (${S3PROXY_ARTIFACT}) with keelson's run-s3proxy`,
        inputs: () => ({ jar: jarDigest, script: RUN_S3PROXY_SCRIPT }),
        build: async (tree) => {
          tree.addHostFile(S3PROXY_JAR.slice(1), jar, { mode: 0o644 });
          tree.addFile('usr/local/bin/run-s3proxy', RUN_S3PROXY_SCRIPT, { mode: 0o755 });
          tree.addDirectory(DATA_DIR.slice(1), { uid: STORE_UID, gid: STORE_UID, mode: 0o750 });
        },
      },
    ],
    config: {
      user: `${STORE_UID}:${STORE_UID}`,
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        JAVA_HOME: JAVA_17_HOME,
        LANG: 'C.UTF-8',
      },
      entrypoint: ['/usr/local/bin/run-s3proxy'],
      workingDir: '/tmp',
      exposedPorts: [S3_STORE_PORT],
    },
  };
}

/**
 * Fetches S3Proxy's jar into keelson's Maven cache (a no-op once there) and returns the recipe of
 * its image.
 */
export async function s3StoreImageRecipe(): Promise<ImageRecipe> {
  return s3proxyImageRecipe(
    await fetchMavenArtifact(parseMavenCoordinates(S3PROXY_ARTIFACT), keelsonCacheDir()),
  );
}

export interface S3StoreOptions {
  /** The pod's and the Service's name. */
  readonly name: string;
  /** The image reference (of s3StoreImageRecipe). */
  readonly image: string;
  /** The bucket that exists at start (private). */
  readonly bucket: string;
  /** The Secret with `accessKey` and `secretKey`. */
  readonly secretName: string;
}

/**
 * The store's pod and Service (`<name>:8080`). It turns Ready once S3Proxy answers `/healthz`,
 * after the bucket was made. Its log has every request and every refusal with its S3 error code
 * (S3Proxy's debug level), for a failing test to print.
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
        securityContext: {
          runAsNonRoot: true,
          fsGroup: STORE_UID,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: 's3proxy',
            image: options.image,
            imagePullPolicy: 'Never',
            env: [
              { name: 'S3PROXY_IDENTITY', valueFrom: secret('accessKey') },
              { name: 'S3PROXY_CREDENTIAL', valueFrom: secret('secretKey') },
              { name: 'S3PROXY_BUCKETS', value: options.bucket },
              { name: 'LOG_LEVEL', value: 'debug' },
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

/** The SHA-256 of an empty payload, what a signed GET states as `x-amz-content-sha256`. */
const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * A shell command (for a pod with curl ≥ 7.75) that lists `bucket`'s keys under `prefix` through
 * the S3 API (ListObjectsV2, signed with SigV4 from `$S3_ACCESS_KEY`/`$S3_SECRET_KEY`), one
 * `key: <key>` line each. S3 requires `x-amz-content-sha256` on SigV4 requests; curl before 8.x
 * does not send it, so it is given (and curl signs it). The prefix is percent-encoded, as SigV4's
 * canonical query needs.
 */
export function listObjectsCommand(endpoint: string, bucket: string, prefix: string): string {
  return (
    `curl -sfS --aws-sigv4 'aws:amz:us-east-1:s3' --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" ` +
    `-H 'x-amz-content-sha256: ${EMPTY_PAYLOAD_SHA256}' ` +
    `'${endpoint}/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}' ` +
    `| grep -o '<Key>[^<]*</Key>' | sed 's#<Key>\\(.*\\)</Key>#key: \\1#'`
  );
}

/**
 * A shell command that prints the HTTP status of a ListObjectsV2 of `bucket`, unsigned or signed
 * (SigV4) as `user` (`access:secret`, shell words allowed). A store that checks signatures answers
 * 403 to an unsigned request and to one signed with a wrong key.
 */
export function listStatusCommand(endpoint: string, bucket: string, user?: string): string {
  const signed = user
    ? `--aws-sigv4 'aws:amz:us-east-1:s3' --user "${user}" -H 'x-amz-content-sha256: ${EMPTY_PAYLOAD_SHA256}' `
    : '';
  return `curl -s -o /dev/null -w '%{http_code}' ${signed}'${endpoint}/${bucket}?list-type=2'`;
}
