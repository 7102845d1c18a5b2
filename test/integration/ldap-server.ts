/**
 * A real directory for the real-node tests: Debian 12's OpenLDAP (slapd) as a pod under the
 * restricted Pod Security profile, seeded with a bind account `cn=trino` and three people who differ
 * in `employeeType` (what the tests' search filters select on).
 */
import { debianServerImageRecipe } from './database-servers';
import {
  buildImageOnRealNode,
  execInPod,
  readyFileProbe,
  REAL_NODE_PLACEMENT,
  RESTRICTED_CONTAINER,
  waitPodsReady,
} from './real-node-support';
import { adminClients } from './support';

export const LDAP_BASE = 'dc=example,dc=org';
/** The account the AuthenticationClasses bind as. */
export const LDAP_BIND_DN = `cn=trino,${LDAP_BASE}`;
/** The people in `ou=people`; only `analyst`s pass the tests' usual search filter. */
export const LDAP_PEOPLE = {
  alice: { password: 'alice-in-ldap', employeeType: 'analyst' },
  bob: { password: 'bob-in-ldap', employeeType: 'sales' },
  dave: { password: 'dave-in-ldap', employeeType: 'engineer' },
};
const SLAPD_UID = 10001;
/** The pod and its Service: 389 → 3890, and LDAPS 636 → 6360. */
export const SLAPD = 'openldap';
/** The Secret (`tls.crt`, `tls.key`, `ca.crt`) slapd serves LDAPS with; the caller creates it. */
export const SLAPD_TLS_SECRET = 'openldap-tls';

/** Debian 12's OpenLDAP server and tools, as uid 10001. */
export function slapdImageRecipe() {
  return debianServerImageRecipe({
    reference: 'keelson.test/openldap:2.5',
    description: "Debian's OpenLDAP 2.5 (slapd, ldap-utils)",
    packages: ['slapd', 'ldap-utils'],
    account: 'openldap',
  });
}

/** The directory manager's password: derived from the bind password, so one secret names a run. */
const adminPassword = (bindPassword: string) => `admin-${bindPassword}`;

/** slapd's config (slapd.conf: the server reads it at start; nothing under /etc is written). */
function slapdConf(bindPassword: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
TLSCACertificateFile /tls/ca.crt
TLSCertificateFile /tls/tls.crt
TLSCertificateKeyFile /tls/tls.key
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile /tmp/slapd.pid
argsfile /tmp/slapd.args
database mdb
maxsize 16777216
suffix "${LDAP_BASE}"
rootdn "cn=admin,${LDAP_BASE}"
rootpw ${adminPassword(bindPassword)}
directory /var/lib/ldap
access to attrs=userPassword by anonymous auth by self read by * none
access to * by users read by * none
`;
}

function seed(bindPassword: string): string {
  return [
    `dn: ${LDAP_BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example`,
    `dn: ou=people,${LDAP_BASE}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ${LDAP_BIND_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: trino\nuserPassword: ${bindPassword}`,
    ...Object.entries(LDAP_PEOPLE).map(
      ([uid, p]) =>
        `dn: uid=${uid},ou=people,${LDAP_BASE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\n` +
        `employeeType: ${p.employeeType}\nuserPassword: ${p.password}`,
    ),
  ].join('\n\n');
}

/**
 * Starts slapd as the pod and Service `openldap` in `namespace`, seeded, with `bindPassword` for
 * `cn=trino`; the Secret `openldap-tls` must exist. Returns once a bind and search answer.
 */
export async function startSlapd(namespace: string, bindPassword: string): Promise<void> {
  const { core } = adminClients();
  await buildImageOnRealNode(slapdImageRecipe());
  const script = [
    'set -eu',
    `cat > /tmp/slapd.conf <<'EOF'\n${slapdConf(bindPassword)}EOF`,
    `cat > /tmp/seed.ldif <<'EOF'\n${seed(bindPassword)}\nEOF`,
    'slapadd -f /tmp/slapd.conf -l /tmp/seed.ldif',
    "slapd -f /tmp/slapd.conf -h 'ldap://0.0.0.0:3890/ ldaps://0.0.0.0:6360/' -d 256 &",
    'server=$!',
    `until ldapsearch -x -H ldap://127.0.0.1:3890 -D ${LDAP_BIND_DN} -w '${bindPassword}' -b ou=people,${LDAP_BASE} uid=alice dn > /dev/null 2>&1; do kill -0 $server; sleep 1; done`,
    'touch /tmp/ready',
    'wait $server',
  ].join('\n');
  const writable = { data: '/var/lib/ldap', tmp: '/tmp' };
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: SLAPD, labels: { app: SLAPD } },
      spec: {
        ...REAL_NODE_PLACEMENT,
        securityContext: {
          runAsNonRoot: true,
          fsGroup: SLAPD_UID,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: 'slapd',
            image: slapdImageRecipe().reference,
            imagePullPolicy: 'Never',
            command: ['/bin/bash', '-c', script],
            ports: [
              { name: 'ldap', containerPort: 3890 },
              { name: 'ldaps', containerPort: 6360 },
            ],
            ...readyFileProbe('/tmp/ready'),
            securityContext: RESTRICTED_CONTAINER,
            resources: { limits: { memory: '128Mi' }, requests: { memory: '64Mi' } },
            volumeMounts: [
              ...Object.entries(writable).map(([name, mountPath]) => ({ name, mountPath })),
              { name: 'tls', mountPath: '/tls', readOnly: true },
            ],
          },
        ],
        volumes: [
          ...Object.keys(writable).map((name) => ({ name, emptyDir: {} })),
          { name: 'tls', secret: { secretName: SLAPD_TLS_SECRET } },
        ],
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: SLAPD },
      spec: {
        selector: { app: SLAPD },
        ports: [
          { name: 'ldap', port: 389, targetPort: 'ldap' },
          { name: 'ldaps', port: 636, targetPort: 'ldaps' },
        ],
      },
    },
  });
  await waitPodsReady(namespace, [SLAPD], 5 * 60_000);
}

/**
 * Changes `cn=trino`'s password in the directory from `from` to `to` (as the directory manager,
 * whose password derives from the first bind password, `initial`) and answers whether each still
 * binds: `{ old: 49, new: 0 }` when the change took (49: invalid credentials).
 */
export async function changeBindPassword(
  namespace: string,
  initial: string,
  from: string,
  to: string,
): Promise<{ old: number; new: number }> {
  const whoami = (password: string) =>
    `ldapwhoami -x -H ldap://127.0.0.1:3890 -D ${LDAP_BIND_DN} -w '${password}' > /dev/null 2>&1`;
  const out = await execInPod(
    namespace,
    SLAPD,
    `ldappasswd -x -H ldap://127.0.0.1:3890 -D cn=admin,${LDAP_BASE} -w '${adminPassword(initial)}' -s '${to}' ` +
      `${LDAP_BIND_DN} && { ${whoami(from)}; echo "old=$?"; ${whoami(to)}; echo "new=$?"; }`,
  );
  const code = (key: string) => Number(new RegExp(`^${key}=(\\d+)$`, 'm').exec(out)?.[1] ?? NaN);
  return { old: code('old'), new: code('new') };
}
