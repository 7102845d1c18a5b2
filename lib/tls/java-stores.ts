/**
 * Java key and trust stores built at a pod's start from the mounted PEM files (pod-tls.ts), for
 * JVM products whose TLS code opens only Java key store types (Hadoop's and HBase's HTTP servers,
 * HBase's REST server): a PKCS#12 key store from `tls.pem` (the key and its chain in one file,
 * under a random password of this start, exported to the daemon) and a PKCS#12 trust store of
 * every CA of `ca.crt` (two during a CA rotation), in a folder only the pod's user reads.
 *
 * Built once per start: a role using it declares `certificateReload: { server: 'restart' }`, so the
 * operator restarts its pods before the certificate they started with expires, and after a new CA
 * of the class is published. The scripts need `openssl`, `keytool` and coreutils' `csplit`, which
 * keelson's JVM base image has.
 */
import type { TlsFiles } from './pod-tls';

/** Where a pod's start builds its stores (the pod's writable /tmp). */
export const JAVA_STORES_DIR = '/tmp/keelson-tls';
export const JAVA_KEYSTORE = `${JAVA_STORES_DIR}/keystore.p12`;
export const JAVA_TRUSTSTORE = `${JAVA_STORES_DIR}/truststore.p12`;
/**
 * The trust store's password. It guards nothing secret (the class's CA certificates, which every
 * client may read) and is fixed, so that every process of the pod reads the one trust store the
 * daemon's start built (a tool run in the pod too).
 */
export const JAVA_TRUSTSTORE_PASSWORD = 'keelson-trust';

/** What differs between the products using the stores. */
export interface JavaStoresOptions {
  /** The variable holding the key store's password, made at random by each start. */
  readonly keystorePasswordEnv: string;
  /** The key entry's alias in the key store. */
  readonly alias: string;
}

/**
 * Script lines (for `set -eu` bash) that build the key store (unless `keyStore` is false: a
 * process that serves nothing needs the trust store only) and the trust store from `files`.
 * Java trusts only certificates stored as trusted entries, which `openssl pkcs12` of Debian 12
 * cannot write: each CA is imported by `keytool`.
 */
export function javaStoresScript(files: TlsFiles, options: JavaStoresOptions, keyStore = true): string[] {
  const env = options.keystorePasswordEnv;
  const keytool = [
    'keytool -J-Xmx64m -importcert -noprompt -storetype PKCS12',
    `-keystore ${JAVA_TRUSTSTORE}.new -storepass ${JAVA_TRUSTSTORE_PASSWORD}`,
  ].join(' ');
  return [
    `mkdir -p -m 0700 ${JAVA_STORES_DIR}`,
    ...(keyStore
      ? [
          `${env}=$(openssl rand -hex 32)`,
          `export ${env}`,
          `(umask 077 && openssl pkcs12 -export -in ${files.bundle} -name ${options.alias} -out ${JAVA_KEYSTORE} -passout env:${env})`,
        ]
      : []),
    `rm -rf ${JAVA_STORES_DIR}/ca ${JAVA_TRUSTSTORE}.new && mkdir ${JAVA_STORES_DIR}/ca`,
    // One file per certificate (coreutils' csplit: the image has no `awk`), each imported by keytool.
    `csplit -s -z -f ${JAVA_STORES_DIR}/ca/ -b '%02d.crt' ${files.trust} '/-----BEGIN CERTIFICATE-----/' '{*}'`,
    `for ca in ${JAVA_STORES_DIR}/ca/*.crt; do`,
    `  ${keytool} -alias "ca-$(basename "$ca" .crt)" -file "$ca" > /dev/null`,
    'done',
    // Renamed into place: another container of the pod may be reading the one an earlier start built.
    `mv ${JAVA_TRUSTSTORE}.new ${JAVA_TRUSTSTORE}`,
  ];
}

/**
 * Hadoop's `ssl-server.xml` keys (HBase's info servers read the same): the key store of
 * `javaStoresScript`, under the start's password, which Hadoop's Configuration reads as `${env.…}`.
 * Clients are not asked for a certificate.
 */
export function hadoopSslServer(keystorePasswordEnv: string): Record<string, string> {
  const password = `\${env.${keystorePasswordEnv}}`;
  return {
    'ssl.server.keystore.location': JAVA_KEYSTORE,
    'ssl.server.keystore.type': 'PKCS12',
    'ssl.server.keystore.password': password,
    'ssl.server.keystore.keypassword': password,
  };
}

/** Hadoop's `ssl-client.xml` keys: the trust store of `javaStoresScript`. */
export function hadoopSslClient(): Record<string, string> {
  return {
    'ssl.client.truststore.location': JAVA_TRUSTSTORE,
    'ssl.client.truststore.type': 'PKCS12',
    'ssl.client.truststore.password': JAVA_TRUSTSTORE_PASSWORD,
  };
}
