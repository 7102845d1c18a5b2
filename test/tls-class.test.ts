import { App, Chart, Testing } from 'cdk8s';
import { TlsClass, type TlsClassSpec } from '../index';
import { resolveTlsClass, tlsClassesIn, tlsClassProblems } from '../lib';

function classIn(spec: unknown, name = 'tls'): { chart: Chart; tlsClass: TlsClass } {
  const chart = new Chart(new App(), 'platform', { namespace: 'data' });
  return { chart, tlsClass: new TlsClass(chart, name, spec as TlsClassSpec) };
}

const problems = (spec: unknown, name = 'tls') => [...classIn(spec, name).tlsClass.problems];

const LIFETIME_RANGE =
  'must be between 1h and 2184h (91 days): the API server refuses pod certificates outside that range';
const EXACTLY_ONE = 'spec: exactly one provider must be given: keelsonCa or secretCa or certManager';

describe('TlsClass', () => {
  test('writes the cluster-scoped custom resource, named by its id, without the chart namespace', () => {
    const { chart, tlsClass } = classIn({ keelsonCa: { certificateLifetime: '12h' } });
    expect(Testing.synth(chart)).toEqual([
      {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name: 'tls' },
        spec: { keelsonCa: { certificateLifetime: '12h' } },
      },
    ]);
    expect(tlsClass.signerName).toBe('keelson.dev/tls');
    expect(tlsClass.problems).toEqual([]);
  });

  test('makes itself known to the stacklets defined after it, with its certificate lifetime', () => {
    const { chart } = classIn({ secretCa: { secretName: 'corp-ca', secretNamespace: 'security' } }, 'corp');
    new TlsClass(chart, 'short', { keelsonCa: { certificateLifetime: '1h30m' } });
    expect(tlsClassesIn(chart)).toEqual([
      { name: 'corp', certificateLifetimeSeconds: 86400 },
      { name: 'short', certificateLifetimeSeconds: 5400 },
    ]);
  });

  test('fills in the defaults of each provider', () => {
    expect(resolveTlsClass({ keelsonCa: {} })).toEqual({
      provider: 'keelsonCa',
      certificateLifetimeSeconds: 86400,
      caLifetimeSeconds: 365 * 86400,
      caRotationOverlapSeconds: 7 * 86400,
    });
    expect(
      resolveTlsClass({
        secretCa: { secretName: 'ca', secretNamespace: 'security', certificateLifetime: '48h' },
      }),
    ).toEqual({
      provider: 'secretCa',
      certificateLifetimeSeconds: 172800,
      secretName: 'ca',
      secretNamespace: 'security',
    });
  });

  test('rejects no provider and two providers, with the API server rule message', () => {
    expect(problems({})).toEqual([EXACTLY_ONE]);
    expect(problems({ keelsonCa: {}, secretCa: { secretName: 'ca', secretNamespace: 'security' } })).toEqual([
      EXACTLY_ONE,
    ]);
  });

  test('rejects certificate lifetimes the API server refuses for pod certificates, at the field', () => {
    expect(problems({ keelsonCa: { certificateLifetime: '59m59s' } })).toEqual([
      `spec.keelsonCa.certificateLifetime: ${LIFETIME_RANGE}`,
    ]);
    expect(
      problems({
        keelsonCa: { certificateLifetime: '2184h1s', caRotationOverlap: '2200h', caLifetime: '8760h' },
      }),
    ).toEqual([`spec.keelsonCa.certificateLifetime: ${LIFETIME_RANGE}`]);
    expect(
      problems({ secretCa: { secretName: 'ca', secretNamespace: 'security', certificateLifetime: '30m' } }),
    ).toEqual([`spec.secretCa.certificateLifetime: ${LIFETIME_RANGE}`]);
    expect(problems({ keelsonCa: { certificateLifetime: '1h' } })).toEqual([]);
    expect(problems({ keelsonCa: { certificateLifetime: '168h' } })).toEqual([]);
  });

  test('rejects a refresh sooner than 6 minutes after issue or later than 15 minutes before the end, at the field', () => {
    const REFRESH_RANGE =
      'must be at least 6m and at most certificateLifetime minus 15m (default 24h): the API server wants the ' +
      'refresh at least 10m after a pod certificate begins, which keelson back-dates by at most 4m, and 10m before it ends';
    expect(problems({ keelsonCa: { certificateRefreshAfter: '5m59s' } })).toEqual([
      `spec.keelsonCa.certificateRefreshAfter: ${REFRESH_RANGE}`,
    ]);
    expect(
      problems({
        secretCa: {
          secretName: 'ca',
          secretNamespace: 'security',
          certificateLifetime: '1h',
          certificateRefreshAfter: '45m1s',
        },
      }),
    ).toEqual([`spec.secretCa.certificateRefreshAfter: ${REFRESH_RANGE}`]);
    // The default lifetime counts.
    expect(problems({ keelsonCa: { certificateRefreshAfter: '23h46m' } })).toEqual([
      `spec.keelsonCa.certificateRefreshAfter: ${REFRESH_RANGE}`,
    ]);
    expect(problems({ keelsonCa: { certificateRefreshAfter: '23h45m' } })).toEqual([]);
    expect(
      problems({
        keelsonCa: { certificateLifetime: '1h', certificateRefreshAfter: '6m', caRotationOverlap: '1h' },
      }),
    ).toEqual([]);
    // A refresh the API server could not read is the pattern's problem alone.
    expect(problems({ keelsonCa: { certificateRefreshAfter: '1d' } })).toEqual([
      'spec.keelsonCa.certificateRefreshAfter: "1d" is not a duration such as 30s, 5m or 1h30m',
    ]);
    expect(
      resolveTlsClass({ keelsonCa: { certificateLifetime: '1h', certificateRefreshAfter: '6m30s' } }),
    ).toMatchObject({ certificateLifetimeSeconds: 3600, certificateRefreshAfterSeconds: 390 });
    expect(resolveTlsClass({ keelsonCa: {} })).not.toHaveProperty('certificateRefreshAfterSeconds');
  });

  test('rejects a rotation overlap shorter than a certificate, and a CA shorter than two overlaps', () => {
    expect(problems({ keelsonCa: { certificateLifetime: '24h', caRotationOverlap: '12h' } })).toEqual([
      'spec.keelsonCa.caRotationOverlap: must be at least certificateLifetime (defaults 168h and 24h): ' +
        'certificates of the old CA must expire while it is still trusted',
    ]);
    // The default overlap counts too.
    expect(problems({ keelsonCa: { certificateLifetime: '200h' } })).toEqual([
      expect.stringMatching(/^spec\.keelsonCa\.caRotationOverlap: must be at least certificateLifetime/),
    ]);
    expect(problems({ keelsonCa: { caLifetime: '300h' } })).toEqual([
      'spec.keelsonCa.caLifetime: must be at least twice caRotationOverlap (defaults 8760h and 168h), ' +
        'so that a CA signs alone before its successor overlaps it',
    ]);
    expect(problems({ keelsonCa: { caLifetime: '336h' } })).toEqual([]);
  });

  test('rejects what the schema does not allow: durations Go cannot read, unknown fields, missing names', () => {
    expect(problems({ keelsonCa: { caLifetime: '365d', certificatLifetime: '1h' } }).sort()).toEqual([
      'spec.keelsonCa.caLifetime: "365d" is not a duration such as 30s, 5m or 1h30m',
      'spec.keelsonCa: unknown field "certificatLifetime"; expected one of: certificateLifetime, certificateRefreshAfter, caLifetime, caRotationOverlap',
    ]);
    expect(problems({ secretCa: { secretName: 'Corp_CA' } })).toEqual([
      'spec.secretCa.secretNamespace: is required',
      'spec.secretCa.secretName: "Corp_CA" is not a Secret name',
    ]);
  });

  test('rejects a name that cannot be a signer name and label value, and a second class of the same name', () => {
    expect(problems({ keelsonCa: {} }, 'Corp.TLS')).toEqual([
      'metadata.name: "Corp.TLS": metadata.name must be a DNS label (at most 63 lower case letters, digits ' +
        'and "-"): it is the signer name keelson.dev/<name> and the label keelson.dev/tls-class=<name>',
    ]);
    const { chart } = classIn({ keelsonCa: {} });
    const otherChart = new Chart(chart.node.root as App, 'streaming', { namespace: 'streaming' });
    const second = new TlsClass(otherChart, 'tls', { secretCa: { secretName: 'ca', secretNamespace: 'x' } });
    expect(second.problems).toEqual([
      'metadata.name: another TlsClass is named "tls" in this app; a class is cluster-wide',
    ]);
  });

  test('writes nothing for an invalid class, and synth reports its problems with its name', () => {
    const { chart, tlsClass } = classIn({
      keelsonCa: {},
      secretCa: { secretName: 'a', secretNamespace: 'b' },
    });
    expect(tlsClass.apiObject).toBeUndefined();
    expect(() => chart.toJson()).toThrow(`TlsClass "tls": ${EXACTLY_ONE}`);
    expect(tlsClassProblems('tls', { keelsonCa: {} })).toEqual([]);
  });

  test('takes a cert-manager issuer, fills in its lifetime, and tells stacklets to deliver through Secrets', () => {
    const { chart, tlsClass } = classIn({
      certManager: { issuerRef: { name: 'corp', kind: 'ClusterIssuer' } },
    });
    expect(tlsClass.problems).toEqual([]);
    expect(resolveTlsClass(tlsClass.spec)).toEqual({
      provider: 'certManager',
      certificateLifetimeSeconds: 86400,
      issuerRef: { name: 'corp', kind: 'ClusterIssuer' },
    });
    expect(tlsClassesIn(chart)).toEqual([
      {
        name: 'tls',
        certificateLifetimeSeconds: 86400,
        certManagerIssuer: { name: 'corp', kind: 'ClusterIssuer' },
      },
    ]);
  });

  test('rejects a cert-manager certificate under an hour, an unknown issuer kind and a missing issuer', () => {
    expect(
      problems({ certManager: { issuerRef: { name: 'corp', kind: 'Issuer' }, certificateLifetime: '59m' } }),
    ).toEqual([
      'spec.certManager.certificateLifetime: must be at least 1h: cert-manager refuses shorter certificates',
    ]);
    // No upper bound: cert-manager has none (the Pod Certificates bound does not apply).
    expect(
      problems({
        certManager: { issuerRef: { name: 'corp', kind: 'Issuer' }, certificateLifetime: '8760h' },
      }),
    ).toEqual([]);
    expect(problems({ certManager: { issuerRef: { name: 'corp', kind: 'Vault' } } })).toEqual([
      'spec.certManager.issuerRef.kind: "Vault" is not one of: Issuer, ClusterIssuer',
    ]);
    expect(problems({ certManager: {} })).toEqual(['spec.certManager.issuerRef: is required']);
    expect(problems({ certManager: { issuerRef: { name: 'corp', kind: 'Issuer' } }, keelsonCa: {} })).toEqual(
      [EXACTLY_ONE],
    );
  });
});
