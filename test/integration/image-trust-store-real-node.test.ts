/**
 * The trust stores of keelson's product images, on the real node: in each JVM product image (the
 * JRE 17 images of ZooKeeper, Kafka and Hive, and Trino's with Java 25), run as uid 10001 with a
 * read-only root under the restricted Pod Security profile,
 * - the JDK's own `cacerts` (what its default TrustManager reads) resolves to a file and `keytool
 *   -list -cacerts` lists Debian's CA certificates as trusted entries — before keelson wrote the
 *   store it was a link to a file nothing generated, and every TLS connection with the default
 *   trust store failed;
 * - the PEM bundle non-Java tools read (`/etc/ssl/certs/ca-certificates.crt`) holds the same
 *   certificates.
 * The operator image needs neither: Node's CA store is compiled into its binary.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { buildImage, type ImageRecipe } from '../../lib/image';
import { RESTRICTED } from './admission';
import { hasImage } from '../controlplane/real-node';
import { importImageToRealNode, realNode, runClientPod } from './real-node-support';
import { useTestNamespace } from './support';

jest.setTimeout(30 * 60_000);

const IMAGES: [string, () => ImageRecipe][] = [
  ['ZooKeeper 3.9.4', () => zookeeperImageRecipe('3.9.4')],
  ['Kafka 4.1.0', () => kafkaImageRecipe('4.1.0')],
  ['Hive 4.0.1', () => hiveImageRecipe('4.0.1')],
  ['Trino 476', () => trinoImageRecipe('476')],
];

/** Debian 12's ca-certificates ships about 150; a store this small is not the public CAs. */
const AT_LEAST = 100;

const CHECK = [
  'set -eu',
  'cacerts="$JAVA_HOME/lib/security/cacerts"',
  'echo "cacerts: $(readlink -f "$cacerts")"',
  'test -f "$(readlink -f "$cacerts")"',
  // What the JDK's default TrustManager reads when javax.net.ssl.trustStore is unset.
  '"$JAVA_HOME/bin/keytool" -list -cacerts -storepass changeit > /tmp/list',
  'echo "java trusted: $(grep -c trustedCertEntry /tmp/list)"',
  'echo "java type: $(sed -n "s/^Keystore type: //p" /tmp/list)"',
  'echo "pem bundle: $(grep -c "BEGIN CERTIFICATE" /etc/ssl/certs/ca-certificates.crt)"',
].join('\n');

describe("the product images' trust stores on the real node", () => {
  const ns = useTestNamespace('trust-real', RESTRICTED);

  test.each(IMAGES)('%s trusts the public CAs in Java and in the PEM bundle', async (name, recipe) => {
    await realNode();
    const started = Date.now();
    // An archive folder of its own: another run may write the same reference's archive into a shared one.
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-trust-image-'));
    const built = await buildImage(recipe(), out);
    process.stdout.write(
      `${name} image: ${((Date.now() - started) / 1000).toFixed(1)} s (${built.cachedLayers}/${built.layers.length} layers cached), ` +
        `${(built.compressedSize / 2 ** 20).toFixed(1)} MiB compressed\n`,
    );
    await importImageToRealNode(built);
    fs.rmSync(out, { recursive: true, force: true });
    // Later imports of this build are skipped by this check: it must know the image by its digest.
    const node = await realNode();
    expect(await hasImage(node, built.reference, built.manifest.digest)).toBe(true);
    expect(await hasImage(node, built.reference, `sha256:${'0'.repeat(64)}`)).toBe(false);
    expect(await hasImage(node, `${built.reference}-absent`, built.manifest.digest)).toBe(false);

    const log = await runClientPod(ns.name, {
      name: 'trust-check',
      image: built.reference,
      command: ['/bin/bash', '-c', CHECK],
      memory: '256Mi',
    });
    const value = (key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(log)?.[1];
    expect({ log, cacerts: value('cacerts') }).toMatchObject({ cacerts: '/etc/ssl/certs/java/cacerts' });
    expect(value('java type')).toBe('JKS');
    const java = Number(value('java trusted'));
    expect({ log, java }).toMatchObject({ java: expect.any(Number) });
    expect(java).toBeGreaterThanOrEqual(AT_LEAST);
    expect(Number(value('pem bundle'))).toBe(java);
    process.stdout.write(`${name}: ${java} CAs in Java's cacerts and the PEM bundle\n`);
  });
});
