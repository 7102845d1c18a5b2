/**
 * Kafka with Kerberos under keelson's operator, on the real node: the operator (the compiled
 * `keelson operator`, with the identity `keelson deploy`'s RBAC gives it) reconciles a `kerberos`
 * AuthenticationClass against a real KDC (kerberos-kdc.ts: Debian's MIT Kerberos as a pod, its
 * admin allowed to add, inquire and re-key `kafka/*` principals only) and a KafkaCluster that names
 * it, in a namespace enforcing the restricted Pod Security profile. kafka-kerberos-real-node proves
 * the same class in synth mode (with TLS, added to a running Kafka, from outside); here the class
 * comes from the cluster, as the operator looks it up. Proven:
 * - the broker's init container (keelson's krb5-tools image) creates its principal
 *   `kafka/<pod DNS name>@REALM` with the class's admin credentials and writes its keytab into memory;
 * - the client listener speaks SASL_PLAINTEXT with GSSAPI (no TLS class): a client with alice's
 *   keytab produces and consumes; a client without a keytab lists no topic;
 * - the admin password is in no ConfigMap, StatefulSet, pod, Event, pod log or the operator's log.
 */
import { PRODUCTS } from '../../apps/keelson';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { KRB5_TOOLS_IMAGE } from '../../lib';
import { krb5ToolsImageRecipe } from '../../lib/authentication/krb5-tools-image';
import { KubeClient } from '../../lib/operator/client';
import { RESTRICTED } from './admission';
import { kafkaJava, produceConsume } from './kafka-client-support';
import {
  clientKrb5Conf,
  createKerberosAdminSecret,
  KDC_ADMIN_PASSWORD,
  kdcKeytab,
  kerberosClass,
  REALM,
  startKdc,
} from './kerberos-kdc';
import { useKeelsonOperator } from './operator-support';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, uniqueName } from './support';

jest.setTimeout(40 * 60_000);

const VERSION = '4.1.0';
const BROKER = 'kafka-brokers-default-0';
const CONTROLLER = 'kafka-controllers-default-0';
const GROUP = '/apis/keelson.dev/v1alpha1';

const client = new KubeClient(adminKubeConfig());
const { core, apps } = adminClients();
const fixture = useKeelsonOperator('kafka-krb', PRODUCTS, RESTRICTED);
const authClass = uniqueName('realm');
const log = (message: string) => process.stdout.write(`kafka kerberos under the operator: ${message}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

describe(`Kafka ${VERSION} with a kerberos class under keelson's operator, on the real node`, () => {
  it('gives the broker its keytab from the class the operator looks up: a client with a keytab produces and consumes, one without is refused', async () => {
    const ns = fixture.namespace;
    await realNode();
    const pods = [CONTROLLER, BROKER];
    const logs = async () =>
      `${await podsLogs(ns, [...pods, 'kdc'])}\n--- operator\n${fixture.operatorLog()}`;
    const started = Date.now();
    await Promise.all([
      buildImageOnRealNode(kafkaImageRecipe(VERSION)),
      buildImageOnRealNode(krb5ToolsImageRecipe()),
    ]);
    const kdcHost = await startKdc(ns, ['aci kafka/*']);
    await createKerberosAdminSecret(ns, 'kerberos-admin');
    log(`images and the KDC ready in ${seconds(started)}`);

    const create = (plural: string, kind: string, name: string, spec: object, namespaced = true) =>
      client.request('create', 'POST', `${GROUP}${namespaced ? `/namespaces/${ns}` : ''}/${plural}`, plural, {
        body: { apiVersion: 'keelson.dev/v1alpha1', kind, metadata: { name }, spec },
      });
    fixture.removeAfter('authenticationclasses', authClass);
    await create(
      'authenticationclasses',
      'AuthenticationClass',
      authClass,
      kerberosClass(authClass, kdcHost, 'kerberos-admin').spec,
      false,
    );
    const role = {
      config: {
        resources: {
          memory: { limit: '512Mi' },
          cpu: { min: '100m', max: '1' },
          storage: { 'log-dirs': { capacity: '1Gi' } },
        },
      },
      podOverrides: { spec: REAL_NODE_PLACEMENT },
      roleGroups: { default: { replicas: 1 } },
      ...FIRST_TIER_JIT,
    };
    const created = Date.now();
    await create('kafkaclusters', 'KafkaCluster', 'kafka', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      clusterConfig: { tls: { enabled: false }, authentication: [{ authenticationClass: authClass }] },
      controllers: role,
      brokers: role,
    });
    await waitPodsReady(ns, pods, 15 * 60_000, logs);
    log(`controller and broker Ready ${seconds(created)} after the KafkaCluster`);
    const brokerPod = await core.readNamespacedPod({ name: BROKER, namespace: ns });
    expect(brokerPod.spec?.initContainers?.map((c) => c.image)).toContain(KRB5_TOOLS_IMAGE);
    expect(brokerPod.spec?.volumes?.find((v) => v.name === 'kerberos-keytab')?.emptyDir?.medium).toBe(
      'Memory',
    );
    const brokerAddress = `${BROKER}.kafka-brokers-default-headless.${ns}.svc.cluster.local`;
    expect(await podsLogs(ns, [BROKER])).toContain(`wrote the keytab of kafka/${brokerAddress}@${REALM}`);

    // A client with alice's keytab, and one without any.
    const sasl = (jaas: string) =>
      'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=GSSAPI\nsasl.kerberos.service.name=kafka\n' +
      `sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required ${jaas};\n` +
      'request.timeout.ms=10000\ndefault.api.timeout.ms=30000\n';
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'client-kerberos' },
        data: { 'alice.keytab': await kdcKeytab(ns, 'alice.keytab') },
        stringData: {
          'krb5.conf': clientKrb5Conf(kdcHost),
          'alice.properties': sasl(
            `useKeyTab=true storeKey=true doNotPrompt=true keyTab="/k/alice.keytab" principal="alice@${REALM}"`,
          ),
          'no-keytab.properties': sasl('useTicketCache=false doNotPrompt=true'),
        },
      },
    });
    const bootstrap = `${brokerAddress}:9092`;
    const clientsStarted = Date.now();
    const output = await runClientPod(
      ns,
      {
        name: 'kerberos-client',
        image: kafkaImageRecipe(VERSION).reference,
        command: [
          '/bin/bash',
          '-c',
          [
            produceConsume(VERSION, bootstrap, 'orders', {
              rf: 1,
              messages: ['under-the-operator'],
              expect: 1,
              config: '/k/alice.properties',
            }),
            'set +e',
            `timeout 90 ${kafkaJava(VERSION, 'org.apache.kafka.tools.TopicCommand', `--bootstrap-server ${bootstrap} --command-config /k/no-keytab.properties --list`)} > /tmp/no-keytab.log 2>&1`,
            'echo "no-keytab: status=$? listed=$(grep -c \'^orders$\' /tmp/no-keytab.log)"',
            'tail -3 /tmp/no-keytab.log',
            'true',
          ].join('\n'),
        ],
        env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-Djava.security.krb5.conf=/k/krb5.conf' }],
        volumes: [{ volume: { name: 'k', secret: { secretName: 'client-kerberos' } }, mountPath: '/k' }],
      },
      logs,
      10 * 60_000,
    );
    const lines = output.split('\n');
    log(
      `clients ${seconds(clientsStarted)}: ${lines.filter((l) => /^(consumed|no-keytab)/.test(l)).join('; ')}`,
    );
    expect(lines).toContain('consumed: under-the-operator');
    expect(lines.find((l) => l.startsWith('no-keytab: '))).toMatch(/^no-keytab: status=[1-9]\d* listed=0$/);

    // The admin password is nowhere keelson, the pods or the operator wrote.
    const written = JSON.stringify([
      (await core.listNamespacedConfigMap({ namespace: ns })).items,
      (await apps.listNamespacedStatefulSet({ namespace: ns })).items,
      (await core.listNamespacedPod({ namespace: ns })).items,
      (await core.listNamespacedEvent({ namespace: ns })).items,
      await podsLogs(ns, pods),
      fixture.operatorLog(10_000),
    ]);
    expect(written.includes(KDC_ADMIN_PASSWORD)).toBe(false);
  });
});
