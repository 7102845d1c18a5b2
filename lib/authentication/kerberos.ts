/**
 * Kerberos for any product, from a `kerberos` AuthenticationClass: `krb5.conf` rendered by keelson
 * (no secret in it, so it goes into the role group's ConfigMap) and a keytab per pod holding the
 * pod's own principal `<service>/<pod DNS name>@<REALM>` (and, for a product whose pods serve
 * several protocols, as HDFS' RPC and SPNEGO, those of `otherServices` at the same names).
 *
 * The keytab is never in a ConfigMap, a Secret keelson writes or anything synthesized: an init
 * container (keelson's krb5-tools image, MIT's `kadmin` from Debian) authenticates to the realm's
 * admin server with the class's admin credentials Secret — mounted into that init container only —
 * creates the pod's principal if it is missing, and writes its keys with `ktadd` into an emptyDir in
 * memory that only the product's container mounts besides it. The keytab is lost when the pod goes;
 * the next pod writes a new one.
 *
 * Restrictions, by design of this first mapping:
 * - `ktadd` draws new random keys each time a pod starts. A client holding a service ticket of the
 *   pod's previous keys gets a new one when it reconnects. So a pod principal is the pod's alone.
 * - A product's pod principals name pod DNS names, so a client must dial a pod by that name (not a
 *   Service's name) for its ticket to match. A pod reached from outside the cluster (`listener`)
 *   also holds the principal of its outside address, for the clients that dial it there.
 * - A product whose clients dial a Service (the Hive metastore) asks for a shared principal instead
 *   (`shared`): `<service>/<Service DNS name>@<REALM>`, created once with random keys and exported
 *   unchanged (`ktadd -norandkey`) into every pod, so no pod's start invalidates another's keys.
 *   Exporting keys needs the admin's key extraction right (`e` in kadm5.acl) on that principal.
 * - With a password in the admin Secret, `kadmin -w` carries it on the init container's command
 *   line, visible to that container's own processes only; an admin keytab (key `keytab`) avoids it.
 *
 * Network: keelson's NetworkPolicies restrict ingress only, so pods reach the KDC (88) and the
 * admin server (749) wherever they run.
 */
import type { Container, EnvVar, Volume, VolumeMount } from '../../imports/k8s-wire';
import { shellQuote } from '../config-files/env-file';
import { CONFIG_VOLUME } from '../stacklet/pod';
import {
  LISTENER_ENV_VARS,
  LISTENER_MOUNT,
  listenerAddressScript,
  type RoleGroupListener,
} from '../listener/pod-listener';
import {
  AUTHENTICATION_CLASS_DEFAULTS,
  KERBEROS_ADMIN_CREDENTIAL_KEYS,
  type AuthenticationClassInfo,
  type KerberosProvider,
} from './class';

/** The Debian krb5 version of keelson's krb5-tools image (Debian 12's MIT Kerberos). */
export const KRB5_TOOLS_VERSION = '1.20.1';
/** Where keelson's krb5-tools image is published (built by `keelson image build krb5-tools`). */
export const KRB5_TOOLS_IMAGE_REPOSITORY = 'ghcr.io/keelson/krb5-tools';
/** The image of the init container that writes a pod's keytab. */
export const KRB5_TOOLS_IMAGE = `${KRB5_TOOLS_IMAGE_REPOSITORY}:${KRB5_TOOLS_VERSION}`;

/** The role group ConfigMap key of the rendered krb5.conf. */
export const KRB5_CONF_FILE = 'krb5.conf';
/** Where a pod's keytab is (the emptyDir in memory the init container writes). */
export const KERBEROS_KEYTAB_DIR = '/keelson/kerberos';
/** The keytab file a product's process reads. */
export const KERBEROS_KEYTAB = `${KERBEROS_KEYTAB_DIR}/keytab`;
/** The keytab volume's name. */
export const KERBEROS_KEYTAB_VOLUME = 'kerberos-keytab';
/** The admin Secret's volume, mounted into the init container only. */
export const KERBEROS_ADMIN_VOLUME = 'kerberos-admin';
const ADMIN_DIR = '/keelson/kerberos-admin';

/** The Kerberos class among `classes`, if one is named. */
export function kerberosClassOf(
  classes: readonly AuthenticationClassInfo[],
): (AuthenticationClassInfo & { spec: { kerberos: KerberosProvider } }) | undefined {
  return classes.find((c) => c.provider === 'kerberos') as
    (AuthenticationClassInfo & { spec: { kerberos: KerberosProvider } }) | undefined;
}

/** `host:port` of the KDC. */
export function kdcAddress(kerberos: KerberosProvider): string {
  return `${kerberos.kdc}:${kerberos.kdcPort ?? AUTHENTICATION_CLASS_DEFAULTS.kdcPort}`;
}

/** `host:port` of the admin server (kadmind). */
export function kadminAddress(kerberos: KerberosProvider): string {
  return `${kerberos.adminServer ?? kerberos.kdc}:${kerberos.adminServerPort ?? AUTHENTICATION_CLASS_DEFAULTS.kadminPort}`;
}

/**
 * krb5.conf for the class's realm. TCP only (`udp_preference_limit = 1`: a Service or NetworkPolicy
 * then needs one protocol), and host names are taken as written (no DNS canonicalization, no
 * reverse lookups): a pod's principal names its pod DNS name, which is what clients dial.
 */
export function krb5Conf(kerberos: KerberosProvider): string {
  const realm = kerberos.realm;
  return [
    '[libdefaults]',
    `  default_realm = ${realm}`,
    '  dns_lookup_realm = false',
    '  dns_lookup_kdc = false',
    '  dns_canonicalize_hostname = false',
    '  rdns = false',
    '  udp_preference_limit = 1',
    '  forwardable = true',
    '',
    '[realms]',
    `  ${realm} = {`,
    `    kdc = ${kdcAddress(kerberos)}`,
    `    admin_server = ${kadminAddress(kerberos)}`,
    '  }',
    '',
    '[domain_realm]',
    `  .cluster.local = ${realm}`,
    '',
  ].join('\n');
}

/** Options of {@link kerberosPodParts}. */
export interface KerberosPodOptions {
  /** The service part of the principals (`kafka`). */
  readonly service: string;
  /**
   * More service parts whose principals, at the same addresses, the keytab holds too (HDFS: `HTTP`,
   * for SPNEGO on its web ports, beside `hdfs`). `principal()` keeps naming `service`'s.
   * @default - `service`'s principals only
   */
  readonly otherServices?: readonly string[];
  /**
   * The pod's DNS name as a bash expression evaluated in the init container, which has `POD_NAME`
   * and `POD_NAMESPACE` in its environment (`${POD_NAME}.<headless Service>.${POD_NAMESPACE}.svc.<domain>`);
   * with `shared`, the DNS name of the Service clients dial.
   */
  readonly podAddress: string;
  /**
   * Whether every pod of the product holds the same principal (`podAddress` is then a Service's
   * name): its keys are exported unchanged (`ktadd -norandkey`, the admin's `e` right), not drawn
   * anew, so one pod's start leaves the keys the others hold valid.
   * @default false
   */
  readonly shared?: boolean;
  /** Where the role group's ConfigMap (with `krb5.conf`) is mounted. */
  readonly configDir: string;
  /**
   * The role group's per-pod listener of a class that reaches each pod from outside the cluster
   * (lib/listener). The init container then waits for the address the keelson operator writes for
   * the pod, and the keytab also holds `<service>/<that host>@<REALM>`, the principal a client
   * outside asks a ticket for. Not with `shared`.
   * @default - the keytab holds the `podAddress` principal only
   */
  readonly listener?: RoleGroupListener;
}

/** What a product adds to a pod for Kerberos. */
export interface KerberosPodParts {
  /** The role group ConfigMap's files: `krb5.conf`. */
  readonly files: Record<string, string>;
  /** The init container that writes the keytab. */
  readonly initContainer: Container;
  /** The keytab emptyDir and the admin Secret. */
  readonly volumes: Volume[];
  /** The product container's mount of the keytab. */
  readonly mounts: VolumeMount[];
  /** The path of krb5.conf in the pod. */
  readonly krb5Conf: string;
  /** The class's realm. */
  readonly realm: string;
  /** `<service>/${ADDRESS}@REALM`, with `address` put in for the pod's DNS name. */
  readonly principal: (address: string) => string;
}

/** A pod's principal: `<service>/<address>@<realm>`. */
function podPrincipal(service: string, address: string, realm: string): string {
  return `${service}/${address}@${realm}`;
}

/** The per-pod listener whose address the keytab also covers (none for a shared principal). */
function outsideListener(options: KerberosPodOptions): RoleGroupListener | undefined {
  return options.shared ? undefined : options.listener;
}

/** The init container's memory: kadmin and bash. */
const INIT_MEMORY = '64Mi';

/**
 * The bash script of the init container: the admin authenticates with its keytab, or else its
 * password; the pod's principal is created if `getprinc` does not find it; `ktadd` writes its new
 * keys (a shared principal's current keys, `-norandkey`); `klist -k` proves the keytab holds it
 * (kadmin's `-q` exits 0 even when its query failed).
 */
export function keytabScript(kerberos: KerberosProvider, options: KerberosPodOptions): string {
  const keys = KERBEROS_ADMIN_CREDENTIAL_KEYS;
  // A pod reached from outside also holds the principals of the address outside clients dial.
  const listener = outsideListener(options);
  // Each service's principal at each address: the first is `service`'s at the pod's address.
  const principal = podPrincipal(options.service, options.podAddress, kerberos.realm);
  const addresses = [options.podAddress, ...(listener ? ['${listener_host}'] : [])];
  const services = [options.service, ...(options.otherServices ?? [])];
  const principals = services.flatMap((service) =>
    addresses.map((address) =>
      address === options.podAddress && service === options.service
        ? '"$principal"'
        : `"${podPrincipal(service, address, kerberos.realm)}"`,
    ),
  );
  return [
    'set -eu',
    `principal="${principal}"`,
    ...(listener ? listenerAddressScript(listener) : []),
    `principals=(${principals.join(' ')})`,
    `admin="$(cat ${ADMIN_DIR}/${keys.principal})"`,
    `if [ -s ${ADMIN_DIR}/${keys.keytab} ]; then auth=(-k -t ${ADMIN_DIR}/${keys.keytab})`,
    `else auth=(-w "$(cat ${ADMIN_DIR}/${keys.password})"); fi`,
    `kadm() { kadmin -r ${shellQuote(kerberos.realm)} -s ${shellQuote(kadminAddress(kerberos))} -p "$admin" "\${auth[@]}" -q "$1"; }`,
    'for p in "${principals[@]}"; do',
    '  if ! kadm "getprinc $p" 2>&1 | grep -q "^Principal: $p$"; then',
    '    echo "creating $p"',
    '    kadm "addprinc -randkey $p"',
    '  fi',
    'done',
    `rm -f ${KERBEROS_KEYTAB}`,
    `kadm "ktadd -k ${KERBEROS_KEYTAB}${options.shared ? ' -norandkey' : ''} \${principals[*]}"`,
    'for p in "${principals[@]}"; do',
    `  klist -k ${KERBEROS_KEYTAB} | grep -q " $p$" || { echo "the keytab holds no key of $p${
      options.shared ? " (exporting its keys unchanged needs the admin principal's e right in kadm5.acl)" : ''
    }" >&2; exit 1; }`,
    '  echo "wrote the keytab of $p"',
    'done',
  ].join('\n');
}

/**
 * The pieces a product adds to each pod of a role group for the Kerberos class `info`: krb5.conf
 * in its ConfigMap, the keytab init container, and the keytab's volume for the product container.
 */
export function kerberosPodParts(
  info: AuthenticationClassInfo & { spec: { kerberos: KerberosProvider } },
  options: KerberosPodOptions,
): KerberosPodParts {
  const kerberos = info.spec.kerberos;
  const krb5 = `${options.configDir}/${KRB5_CONF_FILE}`;
  const listener = outsideListener(options);
  const env: EnvVar[] = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'KRB5_CONFIG', value: krb5 },
    ...(listener ? LISTENER_ENV_VARS : []),
  ];
  return {
    files: { [KRB5_CONF_FILE]: krb5Conf(kerberos) },
    initContainer: {
      name: 'kerberos-keytab',
      image: KRB5_TOOLS_IMAGE,
      command: ['/bin/bash', '-c', keytabScript(kerberos, options)],
      env,
      resources: {
        requests: { cpu: '50m', memory: INIT_MEMORY },
        limits: { cpu: '500m', memory: INIT_MEMORY },
      },
      volumeMounts: [
        { name: CONFIG_VOLUME, mountPath: options.configDir, readOnly: true },
        { name: KERBEROS_KEYTAB_VOLUME, mountPath: KERBEROS_KEYTAB_DIR },
        { name: KERBEROS_ADMIN_VOLUME, mountPath: ADMIN_DIR, readOnly: true },
        ...(listener ? [LISTENER_MOUNT] : []),
      ],
    },
    volumes: [
      // In memory: the keys never reach the node's disk.
      { name: KERBEROS_KEYTAB_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
      {
        name: KERBEROS_ADMIN_VOLUME,
        // Owner (root) and the pod's fsGroup may read, as for certificates.
        secret: { secretName: kerberos.adminCredentialsSecretName, defaultMode: 0o440 },
      },
    ],
    mounts: [{ name: KERBEROS_KEYTAB_VOLUME, mountPath: KERBEROS_KEYTAB_DIR, readOnly: true }],
    krb5Conf: krb5,
    realm: kerberos.realm,
    principal: (address) => podPrincipal(options.service, address, kerberos.realm),
  };
}
