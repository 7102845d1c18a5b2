/**
 * Trino's password logins on the real node, against a real directory: Debian's OpenLDAP (`slapd`
 * 2.5, in an image built here from Debian's packages) runs as a pod under the restricted Pod
 * Security profile, seeded with a bind user and three people; keelson's manifests (synth mode) of
 * a TrinoCluster naming an `ldap` AuthenticationClass (bind credentials from a Secret, users below
 * `ou=people` that match `(employeeType=analyst)`) and a `static` one (users from a Secret), with
 * HTTPS from the test's own certificates (as in trino-tls-real-node.test.ts).
 *
 * The cluster starts with no class referenced at all. Proven: its coordinator's config.properties
 * has no `http-server.authentication.type`, and a request with no password (`X-Trino-User: nobody`)
 * gets 200. Then, on the running cluster, the three password classes are added. Proven: the
 * coordinator rolls (a new pod), the worker does not; and then:
 * - a user in the directory and inside the filter logs in over HTTPS and runs a query, as
 *   themselves (`current_user`), on the worker;
 * - a wrong password is refused (401), a user outside the filter is refused (401), no password is
 *   refused (401), a user of neither class is refused (401);
 * - a user of the static class logs in (the coordinator's init container hashed the Secret);
 * - a user only a third class (`ldaps://`, its TlsClass's CAs a ClusterTrustBundle the test writes,
 *   slapd serving the test CA's certificate) accepts logs in: the LDAPS path with keelson's trust;
 * - the bind password is in no synthesized object, and the coordinator's ConfigMap in the cluster
 *   names it only as `${ENV:...}`; the users' plain passwords are not in the Trino container.
 *
 * Then, on the running cluster, an `oidc` class is added (Trino's OAuth2 beside the passwords),
 * against a real OpenID provider: Ory Hydra built here (test/integration/oidc-provider.ts), over
 * HTTPS with a certificate of the same test CA, trusted through the class's TlsClass. Proven:
 * - the coordinator rolls (a new pod), the worker does not;
 * - an access token Hydra issued to `alice` (client credentials grant, audience `trino`) runs a
 *   query as alice (`current_user`, principal claim `sub`); a directory user's password still works;
 * - a malformed token, a token of another issuer (a second Hydra, its own keys) and a token for
 *   another audience each get 401;
 * - a browser without a session is sent to Hydra's authorization endpoint for client `trino`, and
 *   Hydra takes the request (it sends the browser on to its login page);
 * - Trino's client secret is in no synthesized object, nor the coordinator's ConfigMap or logs.
 *
 * Then, on the running cluster again, a `tls` class is added (client certificates the test CA
 * signed), the `static` class removed, and the bind password rotated (in slapd and its Secret).
 * Proven:
 * - the coordinator rolls, the worker does not; its config says `CERTIFICATE,PASSWORD,OAUTH2`;
 * - a client with a certificate of the class (CN alice), no password and no user header, runs a
 *   query as alice (`current_user`); one with another CA's certificate (CN alice too) and one
 *   without a certificate or password are refused;
 * - the removed class's user is refused (401); a directory user's password still works, through
 *   the new bind password (the old one is refused by slapd).
 */
import type * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { TrinoCatalog, TrinoCluster } from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { AuthenticationClass, TLS_CLASS_LABEL, tlsSignerName, tlsVolumeName } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  changeBindPassword,
  LDAP_BASE,
  LDAP_BIND_DN,
  LDAP_PEOPLE,
  SLAPD_TLS_SECRET,
  startSlapd,
} from './ldap-server';
import {
  FIRST_TIER_JIT,
  CLIENT_JVM_OPTIONS,
  buildImageOnRealNode,
  execInPod,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { createTestNamespace } from '../controlplane/cluster';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';
import { podDnsNames, TestPki } from './test-pki';
import { hydraIssuer, startHydra } from './oidc-provider';

// A cold machine builds the node and a ~1 GiB image first; Trino starts in minutes on 2 busy cores.
jest.setTimeout(40 * 60_000);

const VERSION = '476';
const COORDINATOR = 'trino-coordinators-default-0';
const WORKER = 'trino-workers-default-0';
const BIND_PASSWORD = `bind-${uniqueName('pw')}`;
/** The bind password after the rotation of the last step. */
const NEW_BIND_PASSWORD = `bind-${uniqueName('rotated')}`;
/** The TlsClass whose CAs the LDAPS class verifies slapd against (a ClusterTrustBundle the test writes). */
const LDAP_CA_CLASS = uniqueName('ldap-ca');
const TRUST_BUNDLES = '/apis/certificates.k8s.io/v1beta1/clustertrustbundles';
const BUNDLE = `${tlsSignerName(LDAP_CA_CLASS).replace(/\//g, ':')}:test`;
const STATIC_USERS = { carol: 'carol-static-pw' };
/** Trino's client at Hydra; its secret must appear nowhere keelson writes. */
const TRINO_CLIENT_SECRET = `trino-${uniqueName('client-secret')}`;
const ALICE_CLIENT_SECRET = 'alice-client-secret';

describe('Trino password logins against a real OpenLDAP, on the real node', () => {
  const ns = { name: '' };
  const ca = new TestPki('keelson test CA');
  /** A CA the cluster does not trust: its client certificates must be refused. */
  const otherCa = new TestPki('keelson test other CA');
  beforeAll(async () => {
    ns.name = await createTestNamespace(adminKubeConfig(), uniqueName('trino-ldap'), RESTRICTED);
  });
  afterAll(async () => {
    ca.remove();
    otherCa.remove();
    await new KubeClient(adminKubeConfig())
      .request('delete', 'DELETE', `${TRUST_BUNDLES}/${BUNDLE}`, 'clustertrustbundles')
      .catch(() => undefined);
    if (ns.name)
      await adminClients()
        .core.deleteNamespace({ name: ns.name })
        .catch(() => undefined);
  });

  it('logs in a directory user inside the filter, one over LDAPS and a static user, and refuses wrong passwords and users outside the filter', async () => {
    await realNode();
    const { core } = adminClients();
    const client = new KubeClient(adminKubeConfig());
    const started = Date.now();
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: SLAPD_TLS_SECRET },
        stringData: ca.issue('openldap', [
          `openldap.${ns.name}.svc.cluster.local`,
          `openldap.${ns.name}.svc`,
        ]),
      },
    });
    // The class's CAs, as keelson's signer publishes them: the LDAPS class's pods trust them.
    await client.request('create', 'POST', TRUST_BUNDLES, 'clustertrustbundles', {
      body: {
        apiVersion: 'certificates.k8s.io/v1beta1',
        kind: 'ClusterTrustBundle',
        metadata: { name: BUNDLE, labels: { [TLS_CLASS_LABEL]: LDAP_CA_CLASS } },
        spec: { signerName: tlsSignerName(LDAP_CA_CLASS), trustBundle: ca.caPem },
      },
    });
    await startSlapd(ns.name, BIND_PASSWORD);
    const ldapUp = Date.now();
    // The OpenID provider, used once the cluster runs (its image builds while nothing waits on it).
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'hydra-tls' },
        stringData: ca.issue('hydra', [`hydra.${ns.name}.svc.cluster.local`, `hydra.${ns.name}.svc`]),
      },
    });
    const trinoUrl = `https://trino-coordinators.${ns.name}.svc.cluster.local:8080`;
    const machine = (client_id: string, audience: string[]) => ({
      client_id,
      client_secret: ALICE_CLIENT_SECRET,
      grant_types: ['client_credentials'],
      audience,
      token_endpoint_auth_method: 'client_secret_post',
    });
    await startHydra(ns.name, {
      hydra: [
        {
          client_id: 'trino',
          client_secret: TRINO_CLIENT_SECRET,
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          redirect_uris: [`${trinoUrl}/oauth2/callback`],
          scope: 'openid email profile offline_access',
        },
        machine('alice', ['trino']),
        machine('mallory', ['another-service']),
      ],
      'hydra-other': [machine('alice', ['trino'])],
    });
    const hydraUp = Date.now();
    await buildImageOnRealNode(trinoImageRecipe(VERSION));
    const imported = Date.now();

    /**
     * The manifests of each step: `none` (no class referenced: no authentication), `passwords`
     * (three password classes), `oidc` (the `oidc` class `sso` added), `certificates` (the `tls`
     * class `certs` added, the static class `users` removed). Everything else is the same in each.
     */
    const platform = (step: 'none' | 'passwords' | 'oidc' | 'certificates') => {
      const oidc = step === 'oidc' || step === 'certificates';
      const certificates = step === 'certificates';
      const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
      new AuthenticationClass(chart, 'sso', {
        oidc: {
          issuer: hydraIssuer(ns.name),
          clientCredentialsSecretName: 'trino-oidc',
          principalClaim: 'sub',
          tls: { tlsClass: LDAP_CA_CLASS },
        },
      });
      new AuthenticationClass(chart, 'directory', {
        ldap: {
          host: `openldap.${ns.name}.svc.cluster.local`,
          searchBase: `ou=people,${LDAP_BASE}`,
          searchFilter: '(employeeType=analyst)',
          bindCredentialsSecretName: 'ldap-bind',
        },
      });
      new AuthenticationClass(chart, 'users', { static: { userCredentialsSecretName: 'trino-users' } });
      // Client certificates the test CA signed (the LDAPS class's TlsClass, its CAs a ClusterTrustBundle).
      new AuthenticationClass(chart, 'certs', { tls: { tlsClass: LDAP_CA_CLASS } });
      new AuthenticationClass(chart, 'directory-tls', {
        ldap: {
          host: `openldap.${ns.name}.svc.cluster.local`,
          searchBase: `ou=people,${LDAP_BASE}`,
          searchFilter: '(employeeType=engineer)',
          bindCredentialsSecretName: 'ldap-bind',
          tls: { tlsClass: LDAP_CA_CLASS },
        },
      });
      const tpch = new TrinoCatalog(chart, 'tpch', { connector: { tpch: {} }, labels: { trino: 'trino' } });
      const small = { resources: { cpu: { min: '200m', max: '2' }, memory: { limit: '1536Mi' } } };
      const tlsVolumes = (role: string) => ({
        podOverrides: {
          spec: {
            ...REAL_NODE_PLACEMENT,
            volumes: (['server', 'internal'] as const).map((use) => ({
              name: tlsVolumeName(use),
              secret: { secretName: `trino-${role}-tls` },
            })),
          },
        },
      });
      const trino = new TrinoCluster(
        chart,
        'trino',
        {
          image: { productVersion: VERSION, pullPolicy: 'Never' },
          clusterConfig: {
            catalogLabelSelector: { matchLabels: { trino: 'trino' } },
            ...(step === 'none'
              ? {}
              : {
                  authentication: [
                    ...(certificates ? [{ authenticationClass: 'certs' }] : []),
                    { authenticationClass: 'directory' },
                    ...(certificates ? [] : [{ authenticationClass: 'users' }]),
                    { authenticationClass: 'directory-tls' },
                    ...(oidc ? [{ authenticationClass: 'sso' }] : []),
                  ],
                }),
          },
          catalogs: [tpch],
          coordinators: { config: small, ...tlsVolumes('coordinators'), ...FIRST_TIER_JIT },
          workers: { config: small, ...tlsVolumes('workers'), ...FIRST_TIER_JIT },
        },
        // The class exists as far as the build is concerned; its certificates are the test's.
        { tlsClasses: [{ name: 'tls' }] },
      );
      trino.addAllowedClient({ podSelector: { matchLabels: { app: 'trino-client' } } });
      const manifests = Testing.synth(chart) as Manifest[];
      // No credential in anything synthesized.
      const synthesized = JSON.stringify(manifests);
      for (const secret of [BIND_PASSWORD, TRINO_CLIENT_SECRET, ...Object.values(STATIC_USERS)])
        expect(synthesized.includes(secret)).toBe(false);
      return manifests.filter((m) => m.kind !== 'AuthenticationClass');
    };
    const stacklet = platform('none');

    const service = `trino-coordinators.${ns.name}.svc.cluster.local`;
    const secrets: k8s.V1Secret[] = [
      {
        metadata: { name: 'trino-coordinators-tls' },
        stringData: ca.issue(
          'coordinator',
          podDnsNames(COORDINATOR, 'trino-coordinators-default-headless', ns.name, ['trino-coordinators']),
        ),
      },
      {
        metadata: { name: 'trino-workers-tls' },
        stringData: ca.issue('worker', podDnsNames(WORKER, 'trino-workers-default-headless', ns.name, [])),
      },
      {
        metadata: { name: 'trino-internal-secret' },
        stringData: { internalSharedSecret: 'ldap-node-secret' },
      },
      { metadata: { name: 'ldap-bind' }, stringData: { user: LDAP_BIND_DN, password: BIND_PASSWORD } },
      { metadata: { name: 'trino-users' }, stringData: STATIC_USERS },
      {
        metadata: { name: 'trino-oidc' },
        stringData: { clientId: 'trino', clientSecret: TRINO_CLIENT_SECRET },
      },
      { metadata: { name: 'trino-client-trust' }, stringData: { 'ca.crt': ca.caPem } },
    ];
    for (const body of secrets) await core.createNamespacedSecret({ namespace: ns.name, body });
    expect(await applyAll(client, stacklet, ns.name)).toEqual([]);

    const logs = async () => `${await podsLogs(ns.name, [COORDINATOR, WORKER, 'openldap'])}`;
    await waitPodsReady(ns.name, [COORDINATOR, WORKER], 15 * 60_000, logs);
    const ready = Date.now();

    const server = `https://${service}:8080`;
    const status = (name: string, user?: string) =>
      `code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert /trust/ca.crt ${user ? `-u '${user}'` : ''} ` +
      `-H 'X-Trino-User: ${user?.split(':')[0] ?? 'nobody'}' -d 'SELECT 1' ${server}/v1/statement); echo "${name}=$code"`;
    const trustVolume = {
      volume: { name: 'trust', secret: { secretName: 'trino-client-trust' } },
      mountPath: '/trust',
    };

    // No class referenced: the coordinator authenticates no one, and takes the user from the header.
    const openConfig = (
      await core.readNamespacedConfigMap({ name: 'trino-coordinators-default', namespace: ns.name })
    ).data?.['config.properties'];
    expect(openConfig).toContain('http-server.https.enabled=true');
    expect(openConfig).not.toContain('http-server.authentication.type');
    const openOut = await runClientPod(
      ns.name,
      {
        name: 'open-client',
        image: `docker.io/trinodb/trino:${VERSION}`,
        // Ready is not yet reachable through the Service everywhere: a request that does not connect
        // (curl's 000, its error printed) is tried again, up to 30 times; any answer ends the loop.
        command: [
          '/bin/bash',
          '-c',
          `for i in $(seq 30); do ${status('nobody-open')}; [ "$code" != 000 ] && break; sleep 2; done`,
        ],
        labels: { app: 'trino-client' },
        volumes: [trustVolume],
      },
      logs,
      5 * 60_000,
    );
    const openCodes = openOut.split('\n').filter((l) => l.startsWith('nobody-open='));
    if (openCodes.at(-1) !== 'nobody-open=200')
      throw new Error(
        `an unauthenticated request was not answered 200:\n--- client:\n${openOut}\n${await logs()}`,
      );
    const openErrors = openOut.split('\n').filter((l) => l.startsWith('curl:'));
    process.stdout.write(
      `trino with no authentication on the real node: 200 for nobody after ${openCodes.length} tries ` +
        `(${openErrors.slice(0, 2).join('; ') || 'no curl error'})\n`,
    );

    // Changes to the running cluster: password classes added to a Trino with none.
    const podUid = async (name: string) =>
      (await core.readNamespacedPod({ name, namespace: ns.name }).catch(() => undefined))?.metadata?.uid;
    /**
     * Applies the platform of `variant` to the running cluster: the coordinator, whose
     * authentication changed, is replaced and Ready again; the worker, whose did not, is the same pod.
     */
    const applyChange = async (variant: Parameters<typeof platform>[0], what: string) => {
      const before = { coordinator: await podUid(COORDINATOR), worker: await podUid(WORKER) };
      expect(await applyAll(client, platform(variant), ns.name)).toEqual([]);
      await waitFor(
        `the coordinator replaced after ${what}`,
        async () => ![undefined, before.coordinator].includes(await podUid(COORDINATOR)),
        10 * 60_000,
      );
      await waitPodsReady(ns.name, [COORDINATOR, WORKER], 15 * 60_000, logs);
      expect(await podUid(WORKER)).toBe(before.worker);
    };
    const passwordsChanged = Date.now();
    await applyChange('passwords', 'password classes were added to a Trino with none');
    const passwordsRolled = Date.now();

    // The coordinator's ConfigMap names the bind credentials, never holds them.
    const data = (
      await core.readNamespacedConfigMap({ name: 'trino-coordinators-default', namespace: ns.name })
    ).data!;
    expect(data['password-authenticator-directory.properties']).toContain(
      'ldap.bind-password=${ENV:TRINO_AUTH_DIRECTORY_BIND_PASSWORD}',
    );
    expect(JSON.stringify(data).includes(BIND_PASSWORD)).toBe(false);
    // The Trino container has the hashes, not the static users' passwords.
    const hashes = await execInPod(ns.name, COORDINATOR, 'cat /keelson/auth/users.db; ls /keelson');
    expect(hashes).toMatch(/^carol:100000:[0-9a-f]{32}:[0-9a-f]{64}$/m);
    expect(hashes.includes(STATIC_USERS.carol)).toBe(false);
    expect(hashes).not.toContain('auth-users');

    const cli = (user: string, password: string, sql: string, key: string) =>
      `TRINO_PASSWORD='${password}' trino --server ${server} --truststore-path /trust/ca.crt --user ${user} --password ` +
      `--execute "${sql}" > /tmp/out 2>&1; echo "${key}-exit=$?"; ` +
      // The result's lines first, then whatever else the CLI said (an error's message).
      `{ grep '^"' /tmp/out; grep -v -e '^"' -e WARNING -e JAVA_TOOL_OPTIONS -e org.jline /tmp/out; } | sed 's/^/${key}=/'`;
    const script = [
      // The coordinator is Ready before the worker has announced itself: wait for it (2 minutes).
      `for i in $(seq 60); do n=$(TRINO_PASSWORD='${LDAP_PEOPLE.alice.password}' trino --server ${server} --truststore-path /trust/ca.crt ` +
        `--user alice --password --execute "SELECT count(*) FROM system.runtime.nodes WHERE coordinator = false AND state = 'active'" 2>/dev/null); ` +
        '[ "$n" = \'"1"\' ] && break; sleep 2; done',
      cli(
        'alice',
        LDAP_PEOPLE.alice.password,
        'SELECT current_user, n FROM (SELECT count(*) AS n FROM tpch.tiny.nation)',
        'alice',
      ),
      cli('carol', STATIC_USERS.carol, 'SELECT current_user', 'carol'),
      cli('dave', LDAP_PEOPLE.dave.password, 'SELECT current_user', 'dave'),
      status('alice-ok', `alice:${LDAP_PEOPLE.alice.password}`),
      status('alice-wrong', 'alice:not-her-password'),
      status('bob-outside-filter', `bob:${LDAP_PEOPLE.bob.password}`),
      status('carol-wrong', 'carol:not-her-password'),
      status('nobody-no-password'),
      status('mallory-unknown', 'mallory:whatever'),
    ].join('\n');
    const out = await runClientPod(
      ns.name,
      {
        name: 'client',
        image: `docker.io/trinodb/trino:${VERSION}`,
        command: ['/bin/bash', '-c', script],
        labels: { app: 'trino-client' },
        env: [{ name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
        volumes: [trustVolume],
      },
      logs,
      8 * 60_000,
    );
    const done = Date.now();
    process.stdout.write(
      `trino LDAP on the real node: slapd built and Ready ${((ldapUp - started) / 1000).toFixed(1)} s, Hydra built and Ready ` +
        `${((hydraUp - ldapUp) / 1000).toFixed(1)} s, Trino image ` +
        `${((imported - hydraUp) / 1000).toFixed(1)} s, coordinator and worker (no authentication) Ready ` +
        `${((ready - imported) / 1000).toFixed(1)} s after apply, coordinator replaced and Ready ` +
        `${((passwordsRolled - passwordsChanged) / 1000).toFixed(1)} s after the password classes were applied, ` +
        `logins and queries ${((done - passwordsRolled) / 1000).toFixed(1)} s\n`,
    );
    const lines = out.split('\n').filter((l) => !l.startsWith('Picked up JAVA_TOOL_OPTIONS'));
    const value = (key: string) => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
    const said = { out, logs: '' };
    try {
      expect({
        alice: [value('alice-exit'), value('alice')],
        carol: [value('carol-exit'), value('carol')],
        dave: [value('dave-exit'), value('dave')],
        codes: Object.fromEntries(
          [
            'alice-ok',
            'alice-wrong',
            'bob-outside-filter',
            'carol-wrong',
            'nobody-no-password',
            'mallory-unknown',
          ].map((k) => [k, value(k)]),
        ),
      }).toEqual({
        alice: ['0', '"alice","25"'],
        carol: ['0', '"carol"'],
        // dave matches only the LDAPS class's filter: his login went over TLS, verified against its CA.
        dave: ['0', '"dave"'],
        codes: {
          'alice-ok': '200',
          'alice-wrong': '401',
          'bob-outside-filter': '401',
          'carol-wrong': '401',
          'nobody-no-password': '401',
          'mallory-unknown': '401',
        },
      });
    } catch (error) {
      said.logs = await logs();
      throw new Error(`${(error as Error).message}\n--- client:\n${said.out}\n${said.logs}`);
    }

    // A change to the running cluster: the oidc class added beside the password classes.
    const changed = Date.now();
    await applyChange('oidc', 'the oidc class was added');
    const rolled = Date.now();
    const coordinatorConfig = JSON.stringify(
      (await core.readNamespacedConfigMap({ name: 'trino-coordinators-default', namespace: ns.name })).data,
    );
    expect(coordinatorConfig).toContain('http-server.authentication.type=PASSWORD,OAUTH2');
    expect(coordinatorConfig).toContain('${ENV:TRINO_AUTH_SSO_CLIENT_SECRET}');
    expect(coordinatorConfig.includes(TRINO_CLIENT_SECRET)).toBe(false);

    const token = (issuer: string, clientId: string, audience: string) =>
      `$(curl -sf --cacert /trust/ca.crt ${issuer}oauth2/token -d grant_type=client_credentials -d client_id=${clientId} ` +
      `-d client_secret=${ALICE_CLIENT_SECRET} -d audience=${audience} | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p')`;
    const bearer = (name: string, variable: string) =>
      `code=$(curl -s -o /dev/null -w '%{http_code}' --cacert /trust/ca.crt -H "Authorization: Bearer ${variable}" ` +
      `-d 'SELECT 1' ${server}/v1/statement); echo "${name}=$code"`;
    const oidcScript = [
      `alice=${token(hydraIssuer(ns.name), 'alice', 'trino')}`,
      `other=${token(hydraIssuer(ns.name, 'hydra-other'), 'alice', 'trino')}`,
      `mallory=${token(hydraIssuer(ns.name), 'mallory', 'another-service')}`,
      'echo "tokens=$([ -n "$alice" ] && [ -n "$other" ] && [ -n "$mallory" ] && echo all)"',
      `trino --server ${server} --truststore-path /trust/ca.crt --access-token "$alice" --user alice --execute ` +
        `"SELECT current_user, n FROM (SELECT count(*) AS n FROM tpch.tiny.nation)" > /tmp/out 2>&1; echo "alice-token-exit=$?"; ` +
        `{ grep '^"' /tmp/out; grep -v -e '^"' -e WARNING -e JAVA_TOOL_OPTIONS -e org.jline /tmp/out; } | sed 's/^/alice-token=/'`,
      bearer('alice-token-ok', '$alice'),
      bearer('malformed', 'not.a.token'),
      bearer('other-issuer', '$other'),
      bearer('other-audience', '$mallory'),
      status('alice-password-ok', `alice:${LDAP_PEOPLE.alice.password}`),
      // A browser: the web UI sends it to the provider, which takes the request on to its login page.
      `curl -s -L --max-redirs 3 -D - -o /dev/null --cacert /trust/ca.crt ${server}/ui/ | tr -d '\\r' | ` +
        "grep -i '^location:' | sed 's/^[Ll]ocation: */ui-location=/'",
    ].join('\n');
    const oidcOut = await runClientPod(
      ns.name,
      {
        name: 'oidc-client',
        image: `docker.io/trinodb/trino:${VERSION}`,
        command: ['/bin/bash', '-c', oidcScript],
        labels: { app: 'trino-client' },
        env: [{ name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
        volumes: [trustVolume],
      },
      logs,
      8 * 60_000,
    );
    process.stdout.write(
      `trino OIDC on the real node: coordinator replaced and Ready ${((rolled - changed) / 1000).toFixed(1)} s after ` +
        `the oidc class was applied, tokens and queries ${((Date.now() - rolled) / 1000).toFixed(1)} s\n`,
    );
    const oidcLines = oidcOut.split('\n').filter((l) => !l.startsWith('Picked up JAVA_TOOL_OPTIONS'));
    const oidcValue = (key: string) => oidcLines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
    const locations = oidcLines
      .filter((l) => l.startsWith('ui-location='))
      .map((l) => l.slice('ui-location='.length));
    const coordinatorLog = await podsLogs(ns.name, [COORDINATOR]);
    try {
      expect({
        tokens: oidcValue('tokens'),
        alice: [oidcValue('alice-token-exit'), oidcValue('alice-token')],
        codes: Object.fromEntries(
          ['alice-token-ok', 'malformed', 'other-issuer', 'other-audience', 'alice-password-ok'].map((k) => [
            k,
            oidcValue(k),
          ]),
        ),
        toProvider: locations.some(
          (l) =>
            l.startsWith(`${hydraIssuer(ns.name)}oauth2/auth?`) &&
            l.includes('client_id=trino') &&
            l.includes(`redirect_uri=${encodeURIComponent(`${trinoUrl}/oauth2/callback`)}`),
        ),
        providerTookIt: locations.some((l) => l.startsWith('https://login.invalid/login?login_challenge=')),
        secretInCoordinatorLog: coordinatorLog.includes(TRINO_CLIENT_SECRET),
      }).toEqual({
        tokens: 'all',
        alice: ['0', '"alice","25"'],
        codes: {
          'alice-token-ok': '200',
          malformed: '401',
          'other-issuer': '401',
          'other-audience': '401',
          'alice-password-ok': '200',
        },
        toProvider: true,
        providerTookIt: true,
        secretInCoordinatorLog: false,
      });
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n--- client:\n${oidcOut}\n${await logs()}\n${await podsLogs(ns.name, ['hydra'])}`,
      );
    }

    // Changes to the running cluster again: the `tls` class `certs` added, the static class `users` removed.
    const alice = ca.issue('alice', ['alice']);
    const mallory = otherCa.issue('alice', ['alice']);
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'trino-client-certs' },
        stringData: {
          'ca.crt': ca.caPem,
          'alice.crt': alice['tls.crt'],
          'alice.key': alice['tls.key'],
          // Another CA's certificate with the same CN: the CN alone must not let it in.
          'other.crt': mallory['tls.crt'],
          'other.key': mallory['tls.key'],
        },
      },
    });
    // The bind password rotated too, in the directory and in the class's Secret: the coordinator
    // reads it from its environment at start, so the roll below must pick the new one up.
    // 49: invalid credentials.
    expect(await changeBindPassword(ns.name, BIND_PASSWORD, BIND_PASSWORD, NEW_BIND_PASSWORD)).toEqual({
      old: 49,
      new: 0,
    });
    await core.replaceNamespacedSecret({
      name: 'ldap-bind',
      namespace: ns.name,
      body: {
        metadata: { name: 'ldap-bind' },
        stringData: { user: LDAP_BIND_DN, password: NEW_BIND_PASSWORD },
      },
    });
    const certsChanged = Date.now();
    await applyChange('certificates', 'the tls class was added and the static class removed');
    const certsRolled = Date.now();
    const certsConfig = (
      await core.readNamespacedConfigMap({ name: 'trino-coordinators-default', namespace: ns.name })
    ).data!;
    expect(certsConfig['config.properties']).toContain(
      'http-server.authentication.type=CERTIFICATE,PASSWORD,OAUTH2',
    );
    expect(certsConfig['config.properties']).toContain(
      `http-server.https.truststore.path=/keelson/tls/trust/${LDAP_CA_CLASS}/ca.crt`,
    );
    expect(JSON.stringify(certsConfig).includes(NEW_BIND_PASSWORD)).toBe(false);
    expect(Object.keys(certsConfig).filter((k) => k.startsWith('password-authenticator-'))).toEqual([
      'password-authenticator-directory-tls.properties',
      'password-authenticator-directory.properties',
    ]);

    const certCurl = '--cacert /certs/ca.crt';
    const certStatus = (name: string, options: string) =>
      `code=$(curl -s -o /dev/null -w '%{http_code}' ${certCurl} ${options} -d 'SELECT 1' ${server}/v1/statement); echo "${name}=$code"`;
    const certScript = [
      // A query as whoever the certificate names (no user header, no password): follow nextUri to the
      // data. The coordinator has just turned Ready and its worker may not be announced yet, so a
      // query that does not finish is tried again (each failed try printed), up to 10 times.
      'for attempt in $(seq 10); do',
      `  out=$(curl -s ${certCurl} --cert /certs/alice.crt --key /certs/alice.key -d 'SELECT current_user' ${server}/v1/statement)`,
      '  for i in $(seq 120); do',
      String.raw`    echo "$out" | grep -o '"data":\[\[[^]]*\]\]' | sed 's/^/alice-cert-data=/'`,
      String.raw`    next=$(echo "$out" | sed -n 's/.*"nextUri":"\([^"]*\)".*/\1/p')`,
      '    [ -z "$next" ] && break',
      `    out=$(curl -s ${certCurl} --cert /certs/alice.crt --key /certs/alice.key "$next")`,
      '  done',
      '  state=$(echo "$out" | grep -o \'"state":"[A-Z]*"\' | tail -1)',
      '  [ "$state" = \'"state":"FINISHED"\' ] && break',
      '  echo "try $attempt did not finish: $(echo "$out" | head -c 300)"',
      '  sleep 3',
      'done',
      'echo "alice-cert-state=$state"',
      certStatus('alice-cert', '--cert /certs/alice.crt --key /certs/alice.key'),
      certStatus('other-ca-cert', '--cert /certs/other.crt --key /certs/other.key'),
      certStatus('no-cert', "-H 'X-Trino-User: alice'"),
      certStatus('carol-removed', `-u 'carol:${STATIC_USERS.carol}' -H 'X-Trino-User: carol'`),
      certStatus('alice-password', `-u 'alice:${LDAP_PEOPLE.alice.password}' -H 'X-Trino-User: alice'`),
    ].join('\n');
    const certOut = await runClientPod(
      ns.name,
      {
        name: 'cert-client',
        image: `docker.io/trinodb/trino:${VERSION}`,
        command: ['/bin/bash', '-c', certScript],
        labels: { app: 'trino-client' },
        volumes: [
          { volume: { name: 'certs', secret: { secretName: 'trino-client-certs' } }, mountPath: '/certs' },
        ],
      },
      logs,
      5 * 60_000,
    );
    process.stdout.write(
      `trino certificates on the real node: coordinator replaced and Ready ${((certsRolled - certsChanged) / 1000).toFixed(1)} s ` +
        `after the tls class was added, logins ${((Date.now() - certsRolled) / 1000).toFixed(1)} s\n`,
    );
    const certLines = certOut.split('\n');
    const certValue = (key: string) => certLines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
    try {
      expect({
        data: certValue('alice-cert-data'),
        state: certValue('alice-cert-state'),
        codes: Object.fromEntries(
          ['alice-cert', 'no-cert', 'carol-removed', 'alice-password'].map((k) => [k, certValue(k)]),
        ),
        // Another CA's certificate fails the handshake (curl's 000), or at the latest gets 401.
        otherCaRefused: /^(000|401)$/.test(certValue('other-ca-cert') ?? ''),
      }).toEqual({
        data: '"data":[["alice"]]',
        state: '"state":"FINISHED"',
        codes: { 'alice-cert': '200', 'no-cert': '401', 'carol-removed': '401', 'alice-password': '200' },
        otherCaRefused: true,
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- client:\n${certOut}\n${await logs()}`);
    }
  });
});
