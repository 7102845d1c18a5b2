/**
 * The real KDC of keelson's Kerberos tests: Debian 12's MIT Kerberos (`krb5kdc` and `kadmind`
 * 1.20, in an image built here from Debian's packages) as a pod under the restricted Pod Security
 * profile, its realm created at start, with an admin principal whose rights each test names
 * (kadm5.acl lines), and two users with keytabs: alice, and mallory, whose first keytab is stale
 * (a second `ktadd` changed her keys).
 */
import { debianServerImageRecipe } from './database-servers';
import {
  buildImageOnRealNode,
  execInPod,
  REAL_NODE_PLACEMENT,
  RESTRICTED_CONTAINER,
  waitPodsReady,
  readyFileProbe,
} from './real-node-support';
import { adminClients, uniqueName } from './support';

export const REALM = 'KEELSON.TEST';
export const KDC_ADMIN = `keelson/admin@${REALM}`;
/** The admin's password, different in each test run; tests check it is nowhere keelson writes. */
export const KDC_ADMIN_PASSWORD = `kadmin-${uniqueName('pw')}`;
const KDC_UID = 10001;

/** Debian 12's MIT KDC and admin server, as uid 10001. */
export function kdcImageRecipe() {
  return debianServerImageRecipe({
    reference: 'keelson.test/mit-kdc:1.20',
    description: "Debian's MIT Kerberos KDC and admin server 1.20 (krb5-kdc, krb5-admin-server, krb5-user)",
    packages: ['krb5-kdc', 'krb5-admin-server', 'krb5-user'],
    account: 'krb5',
  });
}

/** Debian 12's MIT Kerberos client tools and curl (with GSS-API: `--negotiate`), as uid 10001. */
export function spnegoClientImageRecipe() {
  return debianServerImageRecipe({
    reference: 'keelson.test/krb5-curl:1.20',
    description: "Debian's MIT Kerberos client tools 1.20 and curl (krb5-user, curl)",
    packages: ['krb5-user', 'curl'],
    account: 'keelson',
  });
}

/**
 * The KDC's start: its realm created (kdb5_util), the admin principal with the rights `acl` gives
 * it (`aci kafka/*`: the kadm5.acl line without the admin's name and the realm), alice with a keytab,
 * mallory with a keytab made stale by a second ktadd; then krb5kdc on TCP 8888 and kadmind on 7749
 * (unprivileged ports; the Service maps 88 and 749 onto them).
 */
function kdcScript(acl: readonly string[]): string {
  return [
    'set -eu',
    // The replay cache in /tmp: the root file system (with /var/tmp) is read-only.
    'export KRB5_CONFIG=/tmp/krb5.conf KRB5_KDC_PROFILE=/tmp/kdc.conf KRB5RCACHEDIR=/tmp',
    `printf '%s\\n' '[libdefaults]' '  default_realm = ${REALM}' '[realms]' '  ${REALM} = {' ` +
      `'    kdc = 127.0.0.1:8888' '    admin_server = 127.0.0.1:7749' '  }' > /tmp/krb5.conf`,
    `printf '%s\\n' '[kdcdefaults]' '  kdc_ports = 8888' '  kdc_tcp_ports = 8888' '[realms]' '  ${REALM} = {' ` +
      `'    database_name = /var/lib/krb5kdc/principal' '    key_stash_file = /var/lib/krb5kdc/stash' ` +
      `'    acl_file = /tmp/kadm5.acl' '    kadmind_port = 7749' '  }' '[logging]' '  kdc = STDERR' '  admin_server = STDERR' > /tmp/kdc.conf`,
    `printf '%s\\n' ${acl.map((line) => `'${KDC_ADMIN} ${line.replace(/(\S+)$/, `$1@${REALM}`)}'`).join(' ')} > /tmp/kadm5.acl`,
    `kdb5_util create -s -r ${REALM} -P "master-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \\n')" > /dev/null`,
    `kadmin.local -q "addprinc -pw $ADMIN_PASSWORD ${KDC_ADMIN}" > /dev/null`,
    'kadmin.local -q "addprinc -randkey alice" > /dev/null',
    'kadmin.local -q "ktadd -k /var/lib/krb5kdc/alice.keytab alice" > /dev/null',
    'kadmin.local -q "addprinc -randkey mallory" > /dev/null',
    'kadmin.local -q "ktadd -k /var/lib/krb5kdc/mallory-stale.keytab mallory" > /dev/null',
    'kadmin.local -q "ktadd -k /var/lib/krb5kdc/mallory-now.keytab mallory" > /dev/null',
    'krb5kdc -n & kdc=$!',
    'kadmind -nofork & kadmind=$!',
    'touch /tmp/ready',
    'wait -n $kdc $kadmind',
  ].join('\n');
}

/**
 * Runs the KDC as pod and Service `kdc` in `namespace` (ports 88 and 749), the admin's rights given
 * by `acl` (see kdcScript), and waits until it is Ready. Returns its host name.
 */
export async function startKdc(namespace: string, acl: readonly string[]): Promise<string> {
  const { core } = adminClients();
  await buildImageOnRealNode(kdcImageRecipe());
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'kdc-admin' }, stringData: { password: KDC_ADMIN_PASSWORD } },
  });
  const writable = { data: '/var/lib/krb5kdc', tmp: '/tmp' };
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'kdc', labels: { app: 'kdc' } },
      spec: {
        ...REAL_NODE_PLACEMENT,
        securityContext: { runAsNonRoot: true, fsGroup: KDC_UID, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'kdc',
            image: kdcImageRecipe().reference,
            imagePullPolicy: 'Never',
            command: ['/bin/bash', '-c', kdcScript(acl)],
            env: [
              { name: 'ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'kdc-admin', key: 'password' } } },
            ],
            ports: [
              { name: 'kdc', containerPort: 8888 },
              { name: 'kadmin', containerPort: 7749 },
            ],
            ...readyFileProbe('/tmp/ready'),
            securityContext: RESTRICTED_CONTAINER,
            resources: { limits: { memory: '128Mi' }, requests: { memory: '64Mi' } },
            volumeMounts: Object.entries(writable).map(([name, mountPath]) => ({ name, mountPath })),
          },
        ],
        volumes: Object.keys(writable).map((name) => ({ name, emptyDir: {} })),
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: 'kdc' },
      spec: {
        selector: { app: 'kdc' },
        ports: [
          { name: 'kdc', port: 88, targetPort: 'kdc' },
          { name: 'kadmin', port: 749, targetPort: 'kadmin' },
        ],
      },
    },
  });
  await waitPodsReady(namespace, ['kdc'], 5 * 60_000);
  return `kdc.${namespace}.svc.cluster.local`;
}

/** A keytab the KDC wrote at start (`alice.keytab`, `mallory-stale.keytab`), base64-encoded. */
export async function kdcKeytab(namespace: string, file: string): Promise<string> {
  return (await execInPod(namespace, 'kdc', `base64 -w0 /var/lib/krb5kdc/${file}`)).trim();
}

/** `kadmin.local -q <query>` in the KDC pod (e.g. `getprinc <principal>`). */
export function kdcQuery(namespace: string, query: string): Promise<string> {
  return execInPod(
    namespace,
    'kdc',
    `KRB5_CONFIG=/tmp/krb5.conf KRB5_KDC_PROFILE=/tmp/kdc.conf kadmin.local -q '${query}'`,
  );
}

/** A client's krb5.conf for the realm at `kdcHost` (and `kdcPort`): TCP, names as written. */
export function clientKrb5Conf(kdcHost: string, kdcPort = 88): string {
  return (
    `[libdefaults]\n  default_realm = ${REALM}\n  udp_preference_limit = 1\n  dns_canonicalize_hostname = false\n` +
    `  rdns = false\n[realms]\n  ${REALM} = {\n    kdc = ${kdcHost}:${kdcPort}\n  }\n`
  );
}

/** The StackletOptions' AuthenticationClass `name` of the realm, its admin credentials from `secret`. */
export function kerberosClass(name: string, kdcHost: string, secret: string) {
  return {
    name,
    provider: 'kerberos' as const,
    spec: { kerberos: { realm: REALM, kdc: kdcHost, adminCredentialsSecretName: secret } },
  };
}

/** A Secret `name` with the admin's principal and password, as a kerberos class names it. */
export async function createKerberosAdminSecret(namespace: string, name: string): Promise<void> {
  await adminClients().core.createNamespacedSecret({
    namespace,
    body: { metadata: { name }, stringData: { principal: KDC_ADMIN, password: KDC_ADMIN_PASSWORD } },
  });
}
