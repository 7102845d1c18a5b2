import { Chart, Testing } from 'cdk8s';
import {
  defineRole,
  registerTlsClass,
  resolveStackletTls,
  Stacklet,
  stackletSpecSchema,
  tlsClassInfoOf,
  tlsTrustFile,
  tlsTrustVolumes,
  type AnyStackletSpec,
  type ProductDefinition,
  type RoleGroupTls,
  type TlsClassInfo,
} from '../lib';

/** The TLS files each build handed to the role's pod hook, by role group. */
const seen = new Map<string, RoleGroupTls>();

/** A product whose one role speaks server and internal TLS. */
const BEACON: ProductDefinition = {
  name: 'beacon',
  kind: 'BeaconCluster',
  plural: 'beaconclusters',
  description: 'test product',
  specSchema: stackletSpecSchema({
    description: 'test product',
    clusterConfig: {},
    roles: { lights: { config: {}, configFiles: ['beacon.properties'], jvm: false } },
  }),
  images: { repository: 'registry.invalid/beacon', versions: { '1': '1' }, defaultVersion: '1' },
  roles: [
    defineRole({
      name: 'lights',
      config: {},
      defaults: () => ({
        resources: { cpu: { min: '100m', max: '200m' }, memory: { limit: '64Mi' }, storage: {} },
        logging: {},
        gracefulShutdownTimeout: '10s',
      }),
      ports: [{ name: 'client', port: 7000, client: true }],
      configFiles: { 'beacon.properties': 'properties' },
      configMountPath: '/etc/beacon',
      tls: ['server', 'internal'],
      pod: (_stacklet, rg) => {
        seen.set(rg.roleGroup, rg.tls);
        return { container: {}, configFiles: { 'beacon.properties': {} } };
      },
    }),
  ],
};

function build(spec: AnyStackletSpec, classes?: readonly TlsClassInfo[], defineClasses: TlsClassInfo[] = []) {
  seen.clear();
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'ops' });
  for (const info of defineClasses) registerTlsClass(chart, info);
  const stacklet = new Stacklet(chart, 'harbour', BEACON, spec, { tlsClasses: classes });
  const objects = stacklet.problems.length === 0 ? Testing.synth(chart) : [];
  return { stacklet, sts: objects.find((o) => o.kind === 'StatefulSet'), objects };
}

describe('which TlsClass serves which traffic', () => {
  const tls = { name: 'tls' };
  const corp = { name: 'corp', certificateLifetimeSeconds: 7200 };

  test('the default class "tls" turns TLS on for both uses when it exists, and off when it does not', () => {
    expect(resolveStackletTls(undefined, [tls])).toEqual({
      tls: { server: tls, internal: tls },
      problems: [],
    });
    expect(resolveStackletTls(undefined, [corp])).toEqual({ tls: {}, problems: [] });
  });

  test('enabled: false turns TLS off even where the classes exist', () => {
    expect(resolveStackletTls({ enabled: false, serverTlsClass: 'corp' }, [tls, corp])).toEqual({
      tls: {},
      problems: [],
    });
  });

  test('a class named explicitly must exist: a typo is an error, not plaintext', () => {
    const { tls: resolved, problems } = resolveStackletTls({ serverTlsClass: 'crop' }, [tls, corp]);
    expect(problems).toEqual([
      expect.stringMatching(/^spec\.clusterConfig\.tls\.serverTlsClass: the TlsClass "crop" does not exist/),
    ]);
    expect(resolved.internal).toBe(tls);
  });

  test('server and internal traffic may use different classes', () => {
    expect(resolveStackletTls({ serverTlsClass: 'corp' }, [tls, corp]).tls).toEqual({
      server: corp,
      internal: tls,
    });
  });
});

describe('a role that speaks TLS', () => {
  test('gets a projected pod certificate and trust bundle per use, mounted read-only where products read them', () => {
    const { sts } = build({}, [{ name: 'tls', certificateLifetimeSeconds: 3600 }]);
    const pod = sts.spec.template.spec;
    const server = pod.volumes.find((v: { name: string }) => v.name === 'tls-server');
    expect(server.projected.sources).toEqual([
      {
        podCertificate: {
          signerName: 'keelson.dev/tls',
          keyType: 'ECDSAP256',
          credentialBundlePath: 'tls.pem',
          keyPath: 'tls.key',
          certificateChainPath: 'tls.crt',
          maxExpirationSeconds: 3600,
        },
      },
      {
        clusterTrustBundle: {
          signerName: 'keelson.dev/tls',
          labelSelector: { matchLabels: { 'keelson.dev/tls-class': 'tls' } },
          path: 'ca.crt',
        },
      },
    ]);
    const mounts = pod.containers[0].volumeMounts;
    expect(mounts).toContainEqual({ name: 'tls-server', mountPath: '/keelson/tls/server', readOnly: true });
    expect(mounts).toContainEqual({
      name: 'tls-internal',
      mountPath: '/keelson/tls/internal',
      readOnly: true,
    });
    expect(seen.get('default')).toEqual({
      server: {
        dir: '/keelson/tls/server',
        bundle: '/keelson/tls/server/tls.pem',
        key: '/keelson/tls/server/tls.key',
        certificate: '/keelson/tls/server/tls.crt',
        trust: '/keelson/tls/server/ca.crt',
      },
      internal: expect.objectContaining({
        dir: '/keelson/tls/internal',
        bundle: '/keelson/tls/internal/tls.pem',
      }),
    });
  });

  test('gets no TLS volume and no TLS files when no class exists or TLS is turned off', () => {
    for (const [spec, classes] of [
      [{}, []],
      [{ clusterConfig: { tls: { enabled: false } } }, [{ name: 'tls' }]],
    ] as const) {
      const { sts } = build(spec, classes);
      expect(sts.spec.template.spec.volumes.map((v: { name: string }) => v.name)).not.toContain('tls-server');
      expect(seen.get('default')).toEqual({ server: undefined, internal: undefined });
    }
  });

  test('in synth mode sees the TlsClasses registered in its app', () => {
    build({}, undefined, [{ name: 'tls' }]);
    expect(seen.get('default')?.server?.dir).toBe('/keelson/tls/server');
  });

  test('reports a named class that does not exist with the field it came from', () => {
    const { stacklet } = build({ clusterConfig: { tls: { internalTlsClass: 'nope' } } }, [{ name: 'tls' }]);
    expect(stacklet.problems).toEqual([
      expect.stringContaining('spec.clusterConfig.tls.internalTlsClass: the TlsClass "nope" does not exist'),
    ]);
  });

  test('rejects a class name that cannot be a label value or signer name', () => {
    const { stacklet } = build({ clusterConfig: { tls: { serverTlsClass: 'Not.A.Label' } } }, []);
    expect(stacklet.problems.join('\n')).toMatch(/spec\.clusterConfig\.tls\.serverTlsClass/);
  });
});

describe('a role whose class is a cert-manager issuer', () => {
  const certManager: TlsClassInfo = {
    name: 'tls',
    certificateLifetimeSeconds: 7200,
    certManagerIssuer: { name: 'corp', kind: 'ClusterIssuer' },
  };

  test('gets one cert-manager Certificate per role group and use, naming every pod and Service', () => {
    const { objects } = build({ lights: { roleGroups: { default: { replicas: 2 } } } } as AnyStackletSpec, [
      certManager,
    ]);
    const certificates = objects.filter((o) => o.kind === 'Certificate');
    expect(certificates.map((c) => c.metadata.name)).toEqual([
      'harbour-lights-default-tls-server',
      'harbour-lights-default-tls-internal',
    ]);
    const pods = [0, 1].flatMap((i) => {
      const pod = `harbour-lights-default-${i}.harbour-lights-default-headless`;
      return [`${pod}.ops.svc.cluster.local`, `${pod}.ops.svc`, `${pod}.ops`, pod];
    });
    const service = (s: string) => [s, `${s}.ops`, `${s}.ops.svc`, `${s}.ops.svc.cluster.local`];
    expect(certificates[0]).toEqual({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: {
        name: 'harbour-lights-default-tls-server',
        namespace: 'ops',
        labels: expect.objectContaining({
          'app.kubernetes.io/instance': 'harbour',
          'app.kubernetes.io/component': 'lights',
          'app.kubernetes.io/managed-by': 'keelson',
          // the class: the operator finds the class's certificates (and their CA) by it
          'keelson.dev/tls-class': 'tls',
        }),
      },
      spec: {
        secretName: 'harbour-lights-default-tls-server',
        secretTemplate: { labels: certificates[0].metadata.labels },
        commonName: pods[1],
        dnsNames: [...pods, ...service('harbour-lights-default-headless'), ...service('harbour-lights')],
        duration: '2h',
        privateKey: { algorithm: 'ECDSA', size: 256, encoding: 'PKCS8', rotationPolicy: 'Always' },
        usages: ['digital signature', 'server auth', 'client auth'],
        revisionHistoryLimit: 1,
        issuerRef: { name: 'corp', kind: 'ClusterIssuer', group: 'cert-manager.io' },
        additionalOutputFormats: [{ type: 'CombinedPEM' }],
      },
    });
    expect(certificates[1].spec.dnsNames).toEqual(certificates[0].spec.dnsNames);
    // No private key and no certificate in anything synthesized.
    expect(JSON.stringify(objects)).not.toMatch(/BEGIN/);
  });

  test("mounts the role group's Secret at the contract's paths, tls.pem from cert-manager's combined PEM", () => {
    const { sts } = build({}, [certManager]);
    const pod = sts.spec.template.spec;
    expect(pod.volumes.find((v: { name: string }) => v.name === 'tls-internal')).toEqual({
      name: 'tls-internal',
      secret: {
        secretName: 'harbour-lights-default-tls-internal',
        defaultMode: 0o440,
        items: [
          { key: 'tls-combined.pem', path: 'tls.pem' },
          { key: 'tls.key', path: 'tls.key' },
          { key: 'tls.crt', path: 'tls.crt' },
          { key: 'ca.crt', path: 'ca.crt' },
        ],
      },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 'tls-server',
      mountPath: '/keelson/tls/server',
      readOnly: true,
    });
    // The product reads the same files as with Pod Certificates.
    expect(seen.get('default')?.server?.bundle).toBe('/keelson/tls/server/tls.pem');
    expect(JSON.stringify(pod.volumes)).not.toContain('podCertificate');
  });

  test('names the replicas of the spec; scaling changes the names, so cert-manager reissues', () => {
    const names = (replicas: number) =>
      build({ lights: { roleGroups: { default: { replicas } } } } as AnyStackletSpec, [certManager])
        .objects.find((o) => o.kind === 'Certificate')
        .spec.dnsNames.filter((n: string) => /^harbour-lights-default-\d+\..*\.svc\.cluster\.local$/.test(n));
    expect(names(1)).toHaveLength(1);
    expect(names(3)).toEqual([0, 1, 2].map((i) => expect.stringContaining(`harbour-lights-default-${i}.`)));
  });

  test('mixes deliveries: Pod Certificates for one use, cert-manager for the other', () => {
    const { sts, objects } = build({ clusterConfig: { tls: { internalTlsClass: 'corp' } } }, [
      { name: 'tls' },
      { ...certManager, name: 'corp' },
    ]);
    const volumes = sts.spec.template.spec.volumes;
    expect(volumes.find((v: { name: string }) => v.name === 'tls-server').projected).toBeDefined();
    expect(volumes.find((v: { name: string }) => v.name === 'tls-internal').secret.secretName).toBe(
      'harbour-lights-default-tls-internal',
    );
    expect(objects.filter((o) => o.kind === 'Certificate').map((c) => c.metadata.name)).toEqual([
      'harbour-lights-default-tls-internal',
    ]);
  });

  test('writes no Certificate where TLS is off', () => {
    const { objects } = build({ clusterConfig: { tls: { enabled: false } } }, [certManager]);
    expect(objects.filter((o) => o.kind === 'Certificate')).toEqual([]);
  });
});

describe('a TlsClass resource as stacklets see it', () => {
  test("carries its provider's certificate lifetime in seconds, whichever provider sets it", () => {
    expect(tlsClassInfoOf('tls', { keelsonCa: { certificateLifetime: '2h' } })).toEqual({
      name: 'tls',
      certificateLifetimeSeconds: 7200,
    });
    expect(tlsClassInfoOf('corp', { secretCa: { secretName: 'ca', secretNamespace: 'pki' } })).toEqual({
      name: 'corp',
      certificateLifetimeSeconds: 86400,
    });
  });

  test('carries the cert-manager issuer of a certManager class', () => {
    expect(
      tlsClassInfoOf('cm', {
        certManager: { issuerRef: { name: 'corp', kind: 'Issuer' }, certificateLifetime: '48h' },
      }),
    ).toEqual({
      name: 'cm',
      certificateLifetimeSeconds: 172800,
      certManagerIssuer: { name: 'corp', kind: 'Issuer' },
    });
  });

  test('is missing when its spec is not valid, rather than given a guessed lifetime', () => {
    expect(
      tlsClassInfoOf('tls', { keelsonCa: {}, secretCa: { secretName: 'ca', secretNamespace: 'pki' } }),
    ).toBe(undefined);
  });
});

describe('a client trusting another stacklet’s class', () => {
  test('mounts each class’s ClusterTrustBundle once, read-only, at /keelson/tls/trust/<class>/ca.crt', () => {
    const { volumes, mounts } = tlsTrustVolumes(['lake', 'zk', 'lake']);
    expect(tlsTrustFile('lake')).toBe('/keelson/tls/trust/lake/ca.crt');
    expect(volumes.map((v) => v.name)).toEqual(['tls-trust-lake', 'tls-trust-zk']);
    expect(volumes[0].projected?.sources).toEqual([
      {
        clusterTrustBundle: {
          signerName: 'keelson.dev/lake',
          labelSelector: { matchLabels: { 'keelson.dev/tls-class': 'lake' } },
          path: 'ca.crt',
        },
      },
    ]);
    expect(mounts).toEqual([
      { name: 'tls-trust-lake', mountPath: '/keelson/tls/trust/lake', readOnly: true },
      { name: 'tls-trust-zk', mountPath: '/keelson/tls/trust/zk', readOnly: true },
    ]);
    expect(tlsTrustVolumes([])).toEqual({ volumes: [], mounts: [] });
  });

  test('a class name too long for a volume name gets a shortened, distinct one', () => {
    const long = (c: string) => `${'a'.repeat(60)}${c}`;
    const [a, b] = [long('b'), long('c')].map((n) => tlsTrustVolumes([n]).volumes[0].name);
    for (const name of [a, b]) expect(name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(a).not.toBe(b);
  });
});
