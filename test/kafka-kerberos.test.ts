import { Chart, Testing } from 'cdk8s';
import { KAFKA, KafkaCluster, type KafkaClusterProps } from '../constructs/kafka';
import { buildChildren } from '../lib/operator/build';
import {
  AuthenticationClass,
  keytabScript,
  krb5Conf,
  KRB5_TOOLS_IMAGE,
  type KerberosProvider,
  type StackletOptions,
} from '../lib';
import { KRB5_TOOLS_IMAGES } from '../lib/authentication/krb5-tools-image';
import { find, type Obj } from './support/synth';

const KERBEROS: KerberosProvider = {
  realm: 'DATA.EXAMPLE.ORG',
  kdc: 'kdc.security.svc.cluster.local',
  adminCredentialsSecretName: 'kerberos-admin',
};

function synth(props: KafkaClusterProps = {}, options: StackletOptions = {}): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  new KafkaCluster(chart, 'kafka', props, options);
  return Testing.synth(chart) as Obj[];
}

function properties(objs: Obj[], configMap: string, file: string): Record<string, string> {
  const text: string = find(objs, 'ConfigMap', configMap).data[file];
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/\\(.)/g, '$1')]),
  );
}

const withKerberos = (
  options: StackletOptions = {},
  kerberos: KerberosProvider = KERBEROS,
): StackletOptions => ({
  ...options,
  authenticationClasses: [{ name: 'realm', provider: 'kerberos', spec: { kerberos } }],
});
const props: KafkaClusterProps = { clusterConfig: { authentication: [{ authenticationClass: 'realm' }] } };
const tlsOn: StackletOptions = { tlsClasses: [{ name: 'tls' }] };

describe('krb5.conf and the keytab init container (lib/authentication/kerberos)', () => {
  test('krb5.conf names the realm, its KDC and admin server (defaults 88 and 749), over TCP, without DNS guessing', () => {
    const conf = krb5Conf(KERBEROS);
    expect(conf).toContain('default_realm = DATA.EXAMPLE.ORG');
    expect(conf).toContain('kdc = kdc.security.svc.cluster.local:88');
    expect(conf).toContain('admin_server = kdc.security.svc.cluster.local:749');
    expect(conf).toContain('udp_preference_limit = 1');
    expect(conf).toContain('dns_canonicalize_hostname = false');
    expect(krb5Conf({ ...KERBEROS, kdcPort: 8888, adminServer: 'kadmin', adminServerPort: 7749 })).toMatch(
      /kdc = kdc\.security\.svc\.cluster\.local:8888\n\s+admin_server = kadmin:7749/,
    );
  });

  test('the script creates the pod principal if missing, writes its keys with ktadd and checks the keytab', () => {
    const script = keytabScript(KERBEROS, {
      service: 'kafka',
      podAddress: '${POD_NAME}.x.${POD_NAMESPACE}.svc.cluster.local',
      configDir: '/c',
    });
    expect(script).toContain(
      'principal="kafka/${POD_NAME}.x.${POD_NAMESPACE}.svc.cluster.local@DATA.EXAMPLE.ORG"',
    );
    expect(script).toContain('principals=("$principal")');
    expect(script).toContain('kadm "addprinc -randkey $p"');
    expect(script).toContain('kadm "ktadd -k /keelson/kerberos/keytab ${principals[*]}"');
    expect(script).toContain('klist -k /keelson/kerberos/keytab');
    // An admin keytab is preferred over the password.
    expect(script).toMatch(/if \[ -s \/keelson\/kerberos-admin\/keytab \]; then auth=\(-k -t/);
  });

  test('with otherServices the keytab holds each service’s principal at each address, the first service’s first', () => {
    const podAddress = '${POD_NAME}.x.${POD_NAMESPACE}.svc.cluster.local';
    const listener = {
      serviceType: 'NodePort',
      addressConfigMap: 'x-listeners',
      ports: ['data'],
    } as unknown as Parameters<typeof keytabScript>[1]['listener'];
    const script = keytabScript(KERBEROS, {
      service: 'hdfs',
      otherServices: ['HTTP'],
      podAddress,
      configDir: '/c',
      listener,
    });
    expect(script).toContain(`principal="hdfs/${podAddress}@DATA.EXAMPLE.ORG"`);
    expect(script).toContain(
      'principals=("$principal" "hdfs/${listener_host}@DATA.EXAMPLE.ORG" ' +
        `"HTTP/${podAddress}@DATA.EXAMPLE.ORG" "HTTP/\${listener_host}@DATA.EXAMPLE.ORG")`,
    );
    // Without them, the one service's principal only (Kafka's and Hive's keytabs are unchanged).
    expect(keytabScript(KERBEROS, { service: 'kafka', podAddress, configDir: '/c' })).toContain(
      'principals=("$principal")',
    );
  });

  test('the image is Debian 12 krb5-user, built only at its one version', () => {
    expect(KRB5_TOOLS_IMAGES.recipe('1.20.1').reference).toBe(KRB5_TOOLS_IMAGE);
    expect(() => KRB5_TOOLS_IMAGES.recipe('1.21.0')).toThrow(/builds krb5-tools 1.20.1 only/);
  });

  test('a class without the admin Secret is refused at that field', () => {
    const chart = new Chart(Testing.app(), 'c');
    new AuthenticationClass(chart, 'realm', {
      kerberos: { realm: 'EXAMPLE.ORG', kdc: 'kdc' } as KerberosProvider,
    });
    expect(() => Testing.synth(chart)).toThrow(/spec\.kerberos\.adminCredentialsSecretName: is required/);
  });
});

describe('a KafkaCluster that authenticates clients with Kerberos', () => {
  test('with server TLS: SASL_SSL GSSAPI on 9092, the broker as its pod principal from its keytab, short names', () => {
    const objs = synth(props, withKerberos(tlsOn));
    const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
    expect(broker).toMatchObject({
      listeners: 'CLIENT://0.0.0.0:9092,INTERNAL://0.0.0.0:9094',
      'listener.security.protocol.map': 'CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL',
      'listener.name.client.sasl.enabled.mechanisms': 'GSSAPI',
      'sasl.kerberos.service.name': 'kafka',
      'listener.name.client.ssl.client.auth': 'none',
      'listener.name.client.gssapi.sasl.jaas.config':
        'com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true ' +
        'keyTab="/keelson/kerberos/keytab" principal="kafka/__POD_ADDRESS__@DATA.EXAMPLE.ORG";',
      // The brokers' reserved principal first, so no Kerberos user becomes it.
      'sasl.kerberos.principal.to.local.rules':
        'RULE:[1:$1](keelson-kafka-internal)s/.*/keelson-kafka-impersonator/,' +
        'RULE:[2:$1](keelson-kafka-internal)s/.*/keelson-kafka-impersonator/,' +
        'RULE:[1:$1@$0](.*@DATA\\.EXAMPLE\\.ORG)s/@.*//,RULE:[2:$1@$0](.*@DATA\\.EXAMPLE\\.ORG)s/@.*//,DEFAULT',
    });
    // The controllers are not clients' to reach: no Kerberos there.
    const controller = find(objs, 'ConfigMap', 'kafka-controllers-default').data;
    expect(JSON.stringify(controller)).not.toMatch(/sasl|krb5/);
  });

  test('without TLS: SASL_PLAINTEXT on the client listener, replication on its own PLAINTEXT listener', () => {
    const broker = properties(synth(props, withKerberos()), 'kafka-brokers-default', 'broker.properties');
    expect(broker).toMatchObject({
      listeners: 'CLIENT://0.0.0.0:9092,INTERNAL://0.0.0.0:9094',
      'inter.broker.listener.name': 'INTERNAL',
      'listener.security.protocol.map': 'CLIENT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
    });
  });

  test('the broker pod: krb5.conf in its ConfigMap, the keytab in memory, the admin Secret in the init container only', () => {
    const objs = synth(props, withKerberos(tlsOn));
    const cm = find(objs, 'ConfigMap', 'kafka-brokers-default').data;
    expect(cm['krb5.conf']).toBe(krb5Conf(KERBEROS));
    const pod = find(objs, 'StatefulSet', 'kafka-brokers-default').spec.template.spec;
    const init = pod.initContainers.find((c: { name: string }) => c.name === 'kerberos-keytab');
    expect(init.image).toBe(KRB5_TOOLS_IMAGE);
    expect(init.command.join(' ')).toContain(
      'principal="kafka/${POD_NAME}.kafka-brokers-default-headless.${POD_NAMESPACE}.svc.cluster.local@DATA.EXAMPLE.ORG"',
    );
    expect(pod.volumes).toEqual(
      expect.arrayContaining([
        { name: 'kerberos-keytab', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
        { name: 'kerberos-admin', secret: { secretName: 'kerberos-admin', defaultMode: 0o440 } },
      ]),
    );
    const mounts = (c: { volumeMounts?: { name: string }[] }) => (c.volumeMounts ?? []).map((m) => m.name);
    expect(mounts(init)).toEqual(expect.arrayContaining(['kerberos-admin', 'kerberos-keytab', 'config']));
    const kafka = pod.containers.find((c: { name: string }) => c.name === 'kafka');
    expect(mounts(kafka)).toContain('kerberos-keytab');
    for (const c of [...pod.containers, ...pod.initContainers].filter((x) => x !== init)) {
      expect(mounts(c)).not.toContain('kerberos-admin');
    }
    expect(kafka.command.join(' ')).toContain('-Djava.security.krb5.conf=/kafka/config/krb5.conf');
    // keelson writes no Secret: the keytab exists only in the pod's memory.
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  test("the stacklet's NetworkPolicies restrict ingress only, so the pods reach the KDC (88) and kadmind (749)", () => {
    const policies = synth(props, withKerberos(tlsOn)).filter((o) => o.kind === 'NetworkPolicy');
    expect(policies.length).toBeGreaterThan(0);
    for (const p of policies) expect(p.spec.policyTypes).toEqual(['Ingress']);
  });

  test('refuses two kerberos classes, a kerberos class with a tls class, and an outside listener class', () => {
    const two: StackletOptions = {
      ...tlsOn,
      tlsClasses: [{ name: 'tls' }, { name: 'clients' }],
      authenticationClasses: [
        { name: 'a', provider: 'kerberos', spec: { kerberos: KERBEROS } },
        { name: 'b', provider: 'kerberos', spec: { kerberos: KERBEROS } },
        { name: 'm', provider: 'tls', spec: { tls: { tlsClass: 'clients' } } },
      ],
    };
    const named = (...names: string[]) => ({
      clusterConfig: { authentication: names.map((authenticationClass) => ({ authenticationClass })) },
    });
    expect(() => synth(named('a', 'b'), two)).toThrow(
      /a Kafka broker has one Kerberos principal, of one realm; name one kerberos AuthenticationClass, not 2 \(a, b\)/,
    );
    expect(() => synth(named('m', 'a'), two)).toThrow(
      /a tls class \(certificates\) or a kerberos class \(SASL GSSAPI\), not both \(m, a\)/,
    );
  });
});

describe('a Kafka with Kerberos reached from outside (a per-pod listener of an external class)', () => {
  // Operator mode: synth output has no per-pod listeners.
  const resource = {
    apiVersion: 'keelson.dev/v1alpha1',
    kind: 'KafkaCluster',
    metadata: { name: 'kafka', namespace: 'data', uid: 'u-1', generation: 1 },
    spec: { ...props, brokers: { roleConfig: { listenerClass: 'external-unstable' } } },
  };
  const objs = buildChildren(KAFKA, resource, {}, [], [{ name: 'tls' }], {
    authenticationClasses: withKerberos().authenticationClasses,
  }) as unknown as Obj[];

  test('speaks SASL GSSAPI on the EXTERNAL listener too, as the principal of the outside address', () => {
    const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
    expect(broker['listener.security.protocol.map']).toBe(
      'CLIENT:SASL_SSL,INTERNAL:SSL,EXTERNAL:SASL_SSL,CONTROLLER:SSL',
    );
    expect(broker['listener.name.external.sasl.enabled.mechanisms']).toBe('GSSAPI');
    expect(broker['listener.name.external.gssapi.sasl.jaas.config']).toContain(
      'principal="kafka/__EXTERNAL_HOST__@DATA.EXAMPLE.ORG";',
    );
    expect(broker['listener.name.client.gssapi.sasl.jaas.config']).toContain(
      'principal="kafka/__POD_ADDRESS__@DATA.EXAMPLE.ORG";',
    );
  });

  test('the keytab holds both principals; the init container waits for the address the operator writes', () => {
    const pod = find(objs, 'StatefulSet', 'kafka-brokers-default').spec.template.spec;
    const init = pod.initContainers.find((c: { name: string }) => c.name === 'kerberos-keytab');
    const script: string = init.command[2];
    expect(script).toContain('until [ "$(cat "/keelson/listener/${KEELSON_POD_NAME}.node" 2>/dev/null)"');
    expect(script).toContain('principals=("$principal" "kafka/${listener_host}@DATA.EXAMPLE.ORG")');
    expect(script.indexOf('listener_host=')).toBeLessThan(script.indexOf('principals=('));
    expect(init.volumeMounts).toContainEqual({
      name: 'listener-addresses',
      mountPath: '/keelson/listener',
      readOnly: true,
    });
    expect(init.env.map((e: { name: string }) => e.name)).toEqual(
      expect.arrayContaining(['KEELSON_POD_NAME', 'KEELSON_NODE_NAME']),
    );
    // The start script puts the host alone into the principal.
    const start: string = pod.containers.find((c: { name: string }) => c.name === 'kafka').command.join(' ');
    expect(start).toContain('external_host="${listener_host}"');
    expect(start).toContain('-e "s/__EXTERNAL_HOST__/${external_host}/g"');
  });
});
