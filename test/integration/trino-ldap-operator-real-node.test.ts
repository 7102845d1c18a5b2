/**
 * An `ldap` AuthenticationClass's bind Secret rotated under keelson's operator, on the real node:
 * the operator (the compiled `keelson operator`, with the identity `keelson deploy`'s RBAC gives
 * it) reconciles a TlsClass it signs Pod Certificates for, an `ldap` AuthenticationClass against a
 * real OpenLDAP (ldap-server.ts: Debian's slapd as a pod), and a TrinoCluster with server TLS and
 * that class, in a namespace enforcing the restricted Pod Security profile. Proven:
 * - a directory user inside the class's filter logs in with her password; a wrong password and a
 *   user outside the filter get 401;
 * - the bind password changes in the directory (the old one is then refused there) and in the
 *   class's Secret, and nothing else: the operator's Secret stamp on the coordinators' pod template
 *   (`keelson.dev/secrets-hash`) changes, the workers' stays, the coordinator is replaced (Trino
 *   reads the bind password from its environment at start), and the directory user logs in through
 *   the new bind password; the TrinoCluster's generation is the same (no spec changed);
 * - the bind password is in no ConfigMap, StatefulSet, pod log or Event.
 * In synth mode nothing watches the Secret (the user restarts the coordinator); trino-ldap-real-node
 * proves the rest of the providers.
 */
import { PRODUCTS } from '../../apps/keelson';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { TLS_CLASS_LABEL, tlsSignerName } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import { SECRETS_HASH_ANNOTATION } from '../../lib/operator/secret-references';
import { RESTRICTED } from './admission';
import {
  changeBindPassword,
  LDAP_BASE,
  LDAP_BIND_DN,
  LDAP_PEOPLE,
  SLAPD,
  SLAPD_TLS_SECRET,
  startSlapd,
} from './ldap-server';
import { useKeelsonOperator } from './operator-support';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  clientPod,
  execInPod,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';
import { TestPki } from './test-pki';

// A cold machine builds the node and a ~1 GiB image first; Trino starts in minutes on 2 busy cores.
jest.setTimeout(40 * 60_000);

const VERSION = '476';
const COORDINATOR = 'trino-coordinators-default-0';
const CLIENT = 'trino-client';
const BIND_PASSWORD = `bind-${uniqueName('pw')}`;
const NEW_BIND_PASSWORD = `bind-${uniqueName('rotated')}`;
const GROUP = '/apis/keelson.dev/v1alpha1';

const kc = adminKubeConfig();
const client = new KubeClient(kc);
const { core, apps } = adminClients();
const fixture = useKeelsonOperator('trino-ldap', PRODUCTS, RESTRICTED);
const classes = { tls: uniqueName('trino-ldap-op'), auth: uniqueName('directory') };
const ca = new TestPki('keelson test CA for slapd');
afterAll(() => ca.remove());
const log = (message: string) => process.stdout.write(`trino ldap under the operator: ${message}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Trino's and slapd's logs, and the operator's. */
const logs = async () =>
  `${await podsLogs(fixture.namespace, [COORDINATOR, SLAPD])}\n--- operator\n${fixture.operatorLog()}`;

const create = (plural: string, kind: string, name: string, spec: object, namespaced = true) =>
  client.request(
    'create',
    'POST',
    `${GROUP}${namespaced ? `/namespaces/${fixture.namespace}` : ''}/${plural}`,
    plural,
    {
      body: { apiVersion: 'keelson.dev/v1alpha1', kind, metadata: { name, labels: { trino: 'ldap' } }, spec },
    },
  );

/** The coordinators' and workers' Secret stamps. */
const stamps = async () =>
  Object.fromEntries(
    await Promise.all(
      ['coordinators', 'workers'].map(async (role) => [
        role,
        (
          await apps.readNamespacedStatefulSet({
            name: `trino-${role}-default`,
            namespace: fixture.namespace,
          })
        ).spec?.template.metadata?.annotations?.[SECRETS_HASH_ANNOTATION],
      ]),
    ),
  );

describe("an ldap class's bind Secret rotated under keelson's operator, on the real node", () => {
  it('rolls the coordinator on a changed bind Secret alone, and directory users log in through the new bind password', async () => {
    const ns = fixture.namespace;
    await realNode();
    await buildImageOnRealNode(trinoImageRecipe(VERSION));
    // slapd serves LDAPS too; this test binds over plain LDAP.
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: SLAPD_TLS_SECRET },
        stringData: ca.issue(SLAPD, [`${SLAPD}.${ns}.svc.cluster.local`]),
      },
    });
    await startSlapd(ns, BIND_PASSWORD);
    for (const [name, stringData] of [
      ['ldap-bind', { user: LDAP_BIND_DN, password: BIND_PASSWORD }],
      ['trino-internal-secret', { internalSharedSecret: 'ldap-operator' }],
    ] as const)
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name }, stringData } });

    fixture.removeAfter('tlsclasses', classes.tls);
    await create('tlsclasses', 'TlsClass', classes.tls, { keelsonCa: {} }, false);
    fixture.removeAfter('authenticationclasses', classes.auth);
    await create(
      'authenticationclasses',
      'AuthenticationClass',
      classes.auth,
      {
        ldap: {
          host: `${SLAPD}.${ns}.svc.cluster.local`,
          searchBase: `ou=people,${LDAP_BASE}`,
          searchFilter: '(employeeType=analyst)',
          bindCredentialsSecretName: 'ldap-bind',
        },
      },
      false,
    );
    await create('trinocatalogs', 'TrinoCatalog', 'tpch', { connector: { tpch: {} } });
    const role = (replicas: number) => ({
      config: { resources: { cpu: { min: '200m', max: '2' }, memory: { limit: '1536Mi' } } },
      podOverrides: { spec: REAL_NODE_PLACEMENT },
      roleGroups: { default: { replicas } },
      ...FIRST_TIER_JIT,
    });
    const created = Date.now();
    await create('trinoclusters', 'TrinoCluster', 'trino', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        catalogLabelSelector: { matchLabels: { trino: 'ldap' } },
        tls: { serverTlsClass: classes.tls, internalTlsClass: classes.tls },
        authentication: [{ authenticationClass: classes.auth }],
        networkPolicy: { allowedClients: [{ podSelector: { matchLabels: { app: CLIENT } } }] },
      },
      coordinators: role(1),
      // Logins are the coordinator's alone: no worker is needed to answer them.
      workers: role(0),
    });
    const body = clientPod({
      name: CLIENT,
      image: `docker.io/trinodb/trino:${VERSION}`,
      command: ['/bin/sh', '-c', 'sleep 86400'],
      labels: { app: CLIENT },
      volumes: [
        {
          volume: {
            name: 'trust',
            projected: {
              sources: [
                {
                  clusterTrustBundle: {
                    signerName: tlsSignerName(classes.tls),
                    labelSelector: { matchLabels: { [TLS_CLASS_LABEL]: classes.tls } },
                    path: 'ca.crt',
                  },
                },
              ],
            },
          },
          mountPath: '/trust',
        },
      ],
    });
    body.spec!.restartPolicy = 'Always';
    body.spec!.terminationGracePeriodSeconds = 0;
    await core.createNamespacedPod({ namespace: ns, body });
    await waitPodsReady(ns, [COORDINATOR, CLIENT], 15 * 60_000, logs);
    log(`coordinator Ready ${seconds(created)} after the TrinoCluster`);

    /** HTTP codes of a statement POSTed as each `user:password`, as `name=code` lines. */
    const logins = (attempts: Record<string, string>) =>
      execInPod(
        ns,
        CLIENT,
        Object.entries(attempts)
          .map(
            ([name, user]) =>
              `echo "${name}=$(curl -s -o /dev/null -w '%{http_code}' --cacert /trust/ca.crt -u '${user}' ` +
              `-H 'X-Trino-User: ${user.split(':')[0]}' -d 'SELECT 1' https://trino-coordinators.${ns}.svc.cluster.local:8080/v1/statement)"`,
          )
          .join('; '),
      );
    const alice = `alice:${LDAP_PEOPLE.alice.password}`;
    const aliceLogsIn = async (what: string) => {
      let out = '';
      await waitFor(
        what,
        async () => (out = await logins({ alice })).includes('alice=200'),
        3 * 60_000,
        undefined,
        undefined,
        async () => `last answer: ${out}\n${await logs()}`,
      );
    };
    await aliceLogsIn('alice to log in');
    expect(
      await logins({ wrong: 'alice:not-her-password', outside: `bob:${LDAP_PEOPLE.bob.password}` }),
    ).toMatch(/^wrong=401\noutside=401$/m);
    log('alice logs in; a wrong password and a user outside the filter get 401');

    // Only the bind password changes: in the directory, then in the class's Secret.
    const before = {
      stamps: await stamps(),
      coordinator: (await core.readNamespacedPod({ name: COORDINATOR, namespace: ns })).metadata?.uid,
      generation: (
        await client.request<{ metadata: { generation: number } }>(
          'get',
          'GET',
          `${GROUP}/namespaces/${ns}/trinoclusters/trino`,
          'trinoclusters',
        )
      ).metadata.generation,
    };
    expect(before.stamps.coordinators).toBeDefined();
    // 49: invalid credentials.
    expect(await changeBindPassword(ns, BIND_PASSWORD, BIND_PASSWORD, NEW_BIND_PASSWORD)).toEqual({
      old: 49,
      new: 0,
    });
    const rotated = Date.now();
    await core.replaceNamespacedSecret({
      name: 'ldap-bind',
      namespace: ns,
      body: {
        metadata: { name: 'ldap-bind' },
        stringData: { user: LDAP_BIND_DN, password: NEW_BIND_PASSWORD },
      },
    });
    await waitFor(
      'the coordinator to be replaced',
      async () =>
        ![undefined, before.coordinator].includes(
          (await core.readNamespacedPod({ name: COORDINATOR, namespace: ns }).catch(() => undefined))
            ?.metadata?.uid,
        ),
      5 * 60_000,
      undefined,
      undefined,
      logs,
    );
    const after = await stamps();
    expect(after.coordinators).not.toBe(before.stamps.coordinators);
    expect(after.workers).toBe(before.stamps.workers);
    await waitPodsReady(ns, [COORDINATOR], 10 * 60_000, logs);
    log(`a new coordinator Ready ${seconds(rotated)} after the bind Secret changed`);
    await aliceLogsIn('alice to log in through the new bind password');
    log(`alice logs in through the new bind password ${seconds(rotated)} after the bind Secret changed`);
    expect(
      (
        await client.request<{ metadata: { generation: number } }>(
          'get',
          'GET',
          `${GROUP}/namespaces/${ns}/trinoclusters/trino`,
          'trinoclusters',
        )
      ).metadata.generation,
    ).toBe(before.generation);

    // No bind password in what keelson wrote or what the pods logged.
    const written = JSON.stringify([
      (await core.listNamespacedConfigMap({ namespace: ns })).items,
      (await apps.listNamespacedStatefulSet({ namespace: ns })).items,
      (await core.listNamespacedEvent({ namespace: ns })).items,
      await podsLogs(ns, [COORDINATOR]),
      fixture.operatorLog(10_000),
    ]);
    for (const password of [BIND_PASSWORD, NEW_BIND_PASSWORD]) expect(written.includes(password)).toBe(false);
  });
});
