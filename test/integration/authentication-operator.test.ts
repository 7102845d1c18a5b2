/**
 * AuthenticationClasses under the operator on the real control plane (the `keelson` command with
 * every shipped product, as the ServiceAccount of the RBAC keelson generates, kwok nodes): a
 * stacklet naming a class its product does not support, a class that does not exist, or (Trino)
 * password authentication without TLS is refused with `Degraded`/`InvalidSpec` and a Warning Event
 * whose message names the field, and nothing is applied; the operator keeps running and reconciles
 * the others. A Trino with an LDAP class over HTTPS is built, its coordinator reading the bind
 * credentials from their Secret; a class created after the stacklet that named it is picked up.
 * The bind password is nowhere: not in the applied objects, the status, the Events or the
 * operator's log.
 */
import * as k8s from '@kubernetes/client-node';
import { PRODUCTS } from '../../apps/keelson';
import {
  GROUP,
  KEELSON_BIN,
  VERSION,
  tail,
  type OperatorProcess,
  startOperatorInNamespace,
  stopOperatorInNamespace,
} from './operator-support';
import { adminClients, uniqueName, waitFor } from './support';
import * as fs from 'node:fs';

const { core, apps, custom } = adminClients();

let namespace = '';
let operator: OperatorProcess;
const BIND_PASSWORD = `bind-${uniqueName('secret')}`;
const classes = {
  ldap: uniqueName('directory'),
  oidc: uniqueName('sso'),
  oidc2: uniqueName('sso2'),
  cert: uniqueName('cert'),
  krb: uniqueName('krb'),
  late: uniqueName('late'),
  tls: uniqueName('trino-tls'),
};

const clusterObjects: [string, string][] = [];
async function createClass(plural: string, kind: string, name: string, spec: object): Promise<void> {
  await custom.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name }, spec },
  });
  clusterObjects.push([plural, name]);
}

beforeAll(async () => {
  ({ namespace, operator } = await startOperatorInNamespace('auth-operator', PRODUCTS, KEELSON_BIN));
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 'ldap-bind' },
      stringData: { user: 'cn=trino,dc=example,dc=org', password: BIND_PASSWORD },
    },
  });
  await createClass('authenticationclasses', 'AuthenticationClass', classes.ldap, {
    ldap: {
      host: 'openldap',
      searchBase: 'ou=people,dc=example,dc=org',
      searchFilter: '(memberOf=cn=analysts,ou=groups,dc=example,dc=org)',
      bindCredentialsSecretName: 'ldap-bind',
    },
  });
  for (const name of [classes.oidc, classes.oidc2])
    await createClass('authenticationclasses', 'AuthenticationClass', name, {
      oidc: { issuer: 'https://idp.example.org', clientCredentialsSecretName: 'sso' },
    });
  await createClass('tlsclasses', 'TlsClass', classes.tls, { keelsonCa: {} });
  await createClass('authenticationclasses', 'AuthenticationClass', classes.cert, {
    tls: { tlsClass: classes.tls },
  });
  await createClass('authenticationclasses', 'AuthenticationClass', classes.krb, {
    kerberos: { realm: 'EXAMPLE.ORG', kdc: 'kdc.example.org', adminCredentialsSecretName: 'kdc-admin' },
  });
});

afterAll(async () => {
  await stopOperatorInNamespace({ namespace, operator });
  for (const [plural, name] of clusterObjects)
    await custom
      .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural, name })
      .catch(() => undefined);
});

type Stacklet = { status?: { conditions?: k8s.V1Condition[] } };
const PLURALS = {
  TrinoCluster: 'trinoclusters',
  ZookeeperCluster: 'zookeeperclusters',
  HiveCluster: 'hiveclusters',
  TrinoCatalog: 'trinocatalogs',
} as const;
type Kind = keyof typeof PLURALS;

const create = (kind: Kind, name: string, spec: object, labels?: Record<string, string>) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    namespace,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, labels }, spec },
  });
const get = (kind: Kind, name: string) =>
  custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    namespace,
    name,
  }) as Promise<Stacklet>;
const condition = async (kind: Kind, name: string, type: string) =>
  (await get(kind, name)).status?.conditions?.find((c) => c.type === type);

/** Waits for `Degraded=True` with `reason` and a message containing `text`; returns the message. */
async function degraded(kind: Kind, name: string, reason: string, text: string): Promise<string> {
  await waitFor(
    `${kind} ${name} Degraded (${reason}) saying ${text}`,
    async () => {
      const c = await condition(kind, name, 'Degraded');
      return c?.status === 'True' && c.reason === reason && (c.message ?? '').includes(text);
    },
    120_000,
    undefined,
    undefined,
    async () =>
      `${JSON.stringify((await get(kind, name)).status ?? 'no status')}; operator log: ${tail(operator.logFile, 5)}`,
  );
  return (await condition(kind, name, 'Degraded'))!.message!;
}

/** The Warning Events on `name`. */
const warnings = async (name: string) =>
  (await core.listNamespacedEvent({ namespace })).items.filter(
    (e) => e.involvedObject.name === name && e.type === 'Warning',
  );

const tpchTrino = (authentication: string[], tls: boolean) => ({
  clusterConfig: {
    authentication: authentication.map((authenticationClass) => ({ authenticationClass })),
    tls: tls ? { serverTlsClass: classes.tls, internalTlsClass: classes.tls } : { enabled: false },
  },
  coordinators: { roleGroups: { default: { replicas: 1 } } },
  workers: { roleGroups: { default: { replicas: 1 } } },
});

describe('AuthenticationClasses under the operator', () => {
  it('refuses a provider the product does not support, with the field in Degraded and a Warning Event, and applies nothing', async () => {
    await create('TrinoCluster', 'krb', tpchTrino([classes.ldap, classes.krb], true));
    const message = await degraded(
      'TrinoCluster',
      'krb',
      'InvalidSpec',
      `spec.clusterConfig.authentication[1].authenticationClass: the AuthenticationClass "${classes.krb}" has the ` +
        'kerberos provider, which TrinoCluster does not support; it supports static, ldap, oidc, tls',
    );
    await waitFor('a Warning Event InvalidSpec on krb', async () =>
      (await warnings('krb')).some((e) => e.reason === 'InvalidSpec' && e.message === message),
    );
    const sets = await apps.listNamespacedStatefulSet({
      namespace,
      labelSelector: 'app.kubernetes.io/instance=krb',
    });
    expect(sets.items).toEqual([]);
    // Trino has one OAuth2 configuration.
    await create('TrinoCluster', 'two-oidc', tpchTrino([classes.oidc, classes.oidc2], true));
    await degraded(
      'TrinoCluster',
      'two-oidc',
      'InvalidSpec',
      `spec.clusterConfig.authentication: Trino has one OAuth2 configuration, so at most one oidc ` +
        `AuthenticationClass, not 2 ("${classes.oidc}", "${classes.oidc2}"); keep one`,
    );
  });

  it('refuses a provider ZooKeeper does not map, client certificates without server TLS, and password authentication without TLS', async () => {
    await create('ZookeeperCluster', 'zk', {
      clusterConfig: { authentication: [{ authenticationClass: classes.ldap }] },
    });
    await degraded(
      'ZookeeperCluster',
      'zk',
      'InvalidSpec',
      `spec.clusterConfig.authentication[0].authenticationClass: the AuthenticationClass "${classes.ldap}" has the ` +
        'ldap provider, which ZookeeperCluster does not support; it supports tls',
    );
    await create('ZookeeperCluster', 'zk-plain', {
      clusterConfig: { authentication: [{ authenticationClass: classes.cert }], tls: { enabled: false } },
    });
    await degraded(
      'ZookeeperCluster',
      'zk-plain',
      'InvalidSpec',
      `spec.clusterConfig.authentication: the AuthenticationClass "${classes.cert}" asks clients for a ` +
        "certificate, which needs the servers' client port on TLS",
    );
    // A certificate class as well: Trino takes client certificates only over HTTPS too.
    await create('TrinoCluster', 'plain', tpchTrino([classes.ldap, classes.cert], false));
    await degraded('TrinoCluster', 'plain', 'InvalidSpec', 'Trino takes passwords only over HTTPS');
  });

  it('builds an LDAP Trino over HTTPS with the bind credentials from their Secret, and picks up a class created after it was named', async () => {
    await create('TrinoCluster', 'ldap', tpchTrino([classes.ldap, classes.late], true));
    await degraded(
      'TrinoCluster',
      'ldap',
      'InvalidSpec',
      `the AuthenticationClass "${classes.late}" does not exist`,
    );
    await createClass('authenticationclasses', 'AuthenticationClass', classes.late, {
      static: { userCredentialsSecretName: 'trino-users' },
    });
    const coordinatorConfig = 'ldap-coordinators-default';
    await waitFor(
      'the coordinator ConfigMap with both authenticators',
      async () => {
        const data = (
          await core.readNamespacedConfigMap({ name: coordinatorConfig, namespace }).catch(() => undefined)
        )?.data;
        return (
          data?.[`password-authenticator-${classes.ldap}.properties`] !== undefined &&
          data?.[`password-authenticator-${classes.late}.properties`] !== undefined
        );
      },
      120_000,
      undefined,
      undefined,
      async () =>
        `${JSON.stringify((await get('TrinoCluster', 'ldap')).status)}; ${tail(operator.logFile, 5)}`,
    );
    const data = (await core.readNamespacedConfigMap({ name: coordinatorConfig, namespace })).data!;
    expect(data[`password-authenticator-${classes.ldap}.properties`]).toContain('ldap.bind-password=${ENV:');
    // The operator applies the ConfigMap before the StatefulSet.
    let sts: k8s.V1StatefulSet | undefined;
    await waitFor('the coordinator StatefulSet with the hashing init container', async () => {
      sts = await apps
        .readNamespacedStatefulSet({ name: 'ldap-coordinators-default', namespace })
        .catch(() => undefined);
      return sts?.spec?.template.spec?.initContainers !== undefined;
    });
    const env = sts!.spec!.template.spec!.containers[0].env ?? [];
    expect(env.find((e) => e.name.endsWith('_BIND_PASSWORD'))?.valueFrom).toEqual({
      secretKeyRef: { name: 'ldap-bind', key: 'password' },
    });
    expect(sts!.spec!.template.spec!.initContainers?.map((c) => c.name)).toEqual(['hash-passwords']);
    // Not Degraded by its spec any more.
    await waitFor('the ldap Trino no longer InvalidSpec', async () => {
      const c = await condition('TrinoCluster', 'ldap', 'Degraded');
      return c !== undefined && c.reason !== 'InvalidSpec';
    });
  });

  it("gives a Trino whose catalog is on a Kerberos metastore each pod's own keytab from the metastore's class", async () => {
    await create('HiveCluster', 'krb-hive', {
      clusterConfig: { database: { type: 'derby' }, authentication: [{ authenticationClass: classes.krb }] },
    });
    const labels = { lake: 'kerberos' };
    await create(
      'TrinoCatalog',
      'krb-lake',
      { connector: { hive: { metastore: { configMapName: 'krb-hive' } } } },
      labels,
    );
    await create('TrinoCluster', 'krb-trino', {
      clusterConfig: { catalogLabelSelector: { matchLabels: labels } },
      coordinators: { roleGroups: { default: { replicas: 1 } } },
      workers: { roleGroups: { default: { replicas: 1 } } },
    });
    let sts: k8s.V1StatefulSet | undefined;
    await waitFor(
      "the Trino workers' StatefulSet with the keytab init container",
      async () => {
        sts = await apps
          .readNamespacedStatefulSet({ name: 'krb-trino-workers-default', namespace })
          .catch(() => undefined);
        return (sts?.spec?.template.spec?.initContainers ?? []).some((c) => c.name === 'kerberos-keytab');
      },
      120_000,
      undefined,
      undefined,
      async () =>
        `${JSON.stringify((await get('TrinoCluster', 'krb-trino')).status)}; ${tail(operator.logFile, 5)}`,
    );
    const init = sts!.spec!.template.spec!.initContainers!.find((c) => c.name === 'kerberos-keytab')!;
    expect(init.command![2]).toContain(
      'principal="trino/${POD_NAME}.krb-trino-workers-default-headless.${POD_NAMESPACE}.svc.cluster.local@EXAMPLE.ORG"',
    );
    const catalog = (await core.readNamespacedConfigMap({ name: 'krb-trino-workers-default', namespace }))
      .data!['catalog.krb-lake.properties'];
    expect(catalog).toContain('hive.metastore.authentication.type=KERBEROS');
    expect(catalog).toContain(
      `hive.metastore.service.principal=hive/krb-hive-metastores.${namespace}.svc.cluster.local@EXAMPLE.ORG`,
    );
  });

  it('never writes the bind password into an object, a status, an Event or its log', async () => {
    const texts: [string, string][] = [
      ['ConfigMaps', JSON.stringify((await core.listNamespacedConfigMap({ namespace })).items)],
      ['StatefulSets', JSON.stringify((await apps.listNamespacedStatefulSet({ namespace })).items)],
      ['Events', JSON.stringify((await core.listNamespacedEvent({ namespace })).items)],
      [
        'TrinoClusters',
        JSON.stringify(
          await custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: 'trinoclusters',
            namespace,
          }),
        ),
      ],
      ['the operator log', fs.readFileSync(operator.logFile, 'utf8')],
    ];
    const encoded = Buffer.from(BIND_PASSWORD).toString('base64');
    expect(
      texts
        .filter(([, text]) => text.includes(BIND_PASSWORD) || text.includes(encoded))
        .map(([what]) => what),
    ).toEqual([]);
    // The scan finds it where it is.
    const secret = JSON.stringify(await core.readNamespacedSecret({ name: 'ldap-bind', namespace }));
    expect(secret.includes(encoded)).toBe(true);
  });
});
