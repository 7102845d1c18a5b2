/**
 * The TlsClass CRD on the real API server: it is served cluster-scoped, accepts valid classes, and
 * refuses each kind of bad class with the message (and at the field) synth reports.
 */
import { ApiError, KubeClient } from '../../lib/operator/client';
import { tlsClassCrd, tlsClassProblems } from '../../lib/tls';
import { installCrd } from './admission';
import { adminKubeConfig } from './support';

const client = new KubeClient(adminKubeConfig());

/** What admission says of a TlsClass (a strict dry-run create): `accepted` or `<status>: <message>`. */
function verdict(name: string, spec: unknown): Promise<string> {
  return client
    .request('create', 'POST', '/apis/keelson.dev/v1alpha1/tlsclasses', 'tlsclasses', {
      query: { fieldValidation: 'Strict', dryRun: 'All' },
      body: { apiVersion: 'keelson.dev/v1alpha1', kind: 'TlsClass', metadata: { name }, spec },
    })
    .then(
      () => 'accepted',
      (e: unknown) => (e instanceof ApiError ? `${e.status}: ${e.message}` : String(e)),
    );
}

// The API server writes `... is invalid: <path>: <reason>: <message>`.
const admissionPath = (text: string) => /is invalid: ([^\s:]+): /.exec(text)?.[1];

beforeAll(() => installCrd(tlsClassCrd()));

describe('the TlsClass CRD on the API server', () => {
  it.each([
    ['the own CA with its defaults', { keelsonCa: {} }],
    [
      'the own CA with every duration set',
      { keelsonCa: { certificateLifetime: '1h', caLifetime: '720h', caRotationOverlap: '48h' } },
    ],
    ['a CA in a Secret', { secretCa: { secretName: 'corp-ca', secretNamespace: 'security' } }],
    [
      'the earliest and the latest refresh',
      { keelsonCa: { certificateLifetime: '1h', certificateRefreshAfter: '6m', caRotationOverlap: '1h' } },
    ],
    [
      'a refresh 15 minutes before the default lifetime ends',
      { secretCa: { secretName: 'corp-ca', secretNamespace: 'security', certificateRefreshAfter: '23h45m' } },
    ],
    ['a cert-manager Issuer', { certManager: { issuerRef: { name: 'corp', kind: 'Issuer' } } }],
    [
      'a cert-manager ClusterIssuer of another group, with a lifetime',
      {
        certManager: {
          issuerRef: { name: 'corp', kind: 'ClusterIssuer', group: 'issuers.example.com' },
          certificateLifetime: '720h',
        },
      },
    ],
  ])('accepts %s, as synth does', async (_what, spec) => {
    expect(await verdict('tls', spec)).toBe('accepted');
    expect(tlsClassProblems('tls', spec)).toEqual([]);
  });

  it('refuses a class with two providers, with the message synth gives', async () => {
    const spec = { keelsonCa: {}, secretCa: { secretName: 'corp-ca', secretNamespace: 'security' } };
    const said = await verdict('tls', spec);
    const [problem] = tlsClassProblems('tls', spec);
    expect(problem).toBe('spec: exactly one provider must be given: keelsonCa or secretCa or certManager');
    expect(said).toMatch(/^422: /);
    expect(admissionPath(said)).toBe('spec');
    expect(said).toContain('exactly one provider must be given: keelsonCa or secretCa or certManager');
    expect(await verdict('tls', {})).toContain(
      'exactly one provider must be given: keelsonCa or secretCa or certManager',
    );
  });

  it.each([
    ['a certificate shorter than an hour', { keelsonCa: { certificateLifetime: '59m' } }],
    [
      'a certificate longer than 91 days',
      { secretCa: { secretName: 'a', secretNamespace: 'b', certificateLifetime: '2185h' } },
    ],
    [
      'an overlap shorter than a certificate',
      { keelsonCa: { certificateLifetime: '48h', caRotationOverlap: '24h' } },
    ],
    ['a certificate outliving the default overlap', { keelsonCa: { certificateLifetime: '169h' } }],
    ['a CA shorter than two overlaps', { keelsonCa: { caLifetime: '300h' } }],
    ['a refresh sooner than 6 minutes', { keelsonCa: { certificateRefreshAfter: '5m59s' } }],
    [
      'a refresh later than 15 minutes before the end',
      {
        secretCa: {
          secretName: 'a',
          secretNamespace: 'b',
          certificateLifetime: '1h',
          certificateRefreshAfter: '46m',
        },
      },
    ],
    ['a refresh after the default lifetime', { keelsonCa: { certificateRefreshAfter: '24h' } }],
    [
      'a cert-manager certificate shorter than an hour',
      { certManager: { issuerRef: { name: 'corp', kind: 'Issuer' }, certificateLifetime: '30m' } },
    ],
  ])('refuses %s at the field, as synth does', async (_what, spec) => {
    const problems = tlsClassProblems('tls', spec);
    expect(problems).toHaveLength(1);
    const [, path, message] = /^([^:]+): (.*)$/.exec(problems[0])!;
    const said = await verdict('tls', spec);
    expect(admissionPath(said)).toBe(path);
    expect(said).toContain(`${path}: Invalid value: `);
    expect(said).toContain(message);
  });

  it('refuses a duration Go cannot read once, by its pattern, as synth does', async () => {
    const spec = { keelsonCa: { caLifetime: '365d', caRotationOverlap: '1w' } };
    const said = await verdict('tls', spec);
    expect(said).toContain('spec.keelsonCa.caLifetime: Invalid value: "365d"');
    expect(said).toContain('spec.keelsonCa.caRotationOverlap: Invalid value: "1w"');
    // No rule over these fields adds an error of its own.
    expect(said).not.toContain('evaluating rule');
    expect(said.match(/Invalid value/g)).toHaveLength(2);
    expect(tlsClassProblems('tls', spec).sort()).toEqual([
      'spec.keelsonCa.caLifetime: "365d" is not a duration such as 30s, 5m or 1h30m',
      'spec.keelsonCa.caRotationOverlap: "1w" is not a duration such as 30s, 5m or 1h30m',
    ]);
  });

  it('refuses a name that is no DNS label, and a class without a spec', async () => {
    const said = await verdict('corp.tls', { keelsonCa: {} });
    expect(said).toContain('metadata.name must be a DNS label');
    expect(tlsClassProblems('corp.tls', { keelsonCa: {} })).toEqual([
      expect.stringContaining('metadata.name must be a DNS label'),
    ]);
    expect(
      await client
        .request('create', 'POST', '/apis/keelson.dev/v1alpha1/tlsclasses', 'tlsclasses', {
          query: { dryRun: 'All' },
          body: { apiVersion: 'keelson.dev/v1alpha1', kind: 'TlsClass', metadata: { name: 'empty' } },
        })
        .then(
          () => 'accepted',
          (e: unknown) => String(e),
        ),
    ).toMatch(/spec: Required value/);
  });

  it('stores a class cluster-wide, readable without a namespace', async () => {
    const path = '/apis/keelson.dev/v1alpha1/tlsclasses/stored';
    await client.request('create', 'POST', '/apis/keelson.dev/v1alpha1/tlsclasses', 'tlsclasses', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name: 'stored' },
        spec: { keelsonCa: {} },
      },
    });
    try {
      const live = await client.request<{ metadata: { namespace?: string }; spec: unknown }>(
        'get',
        'GET',
        path,
        'tlsclasses',
      );
      expect(live.metadata.namespace).toBeUndefined();
      expect(live.spec).toEqual({ keelsonCa: {} });
    } finally {
      await client.request('delete', 'DELETE', path, 'tlsclasses');
    }
  });
});
