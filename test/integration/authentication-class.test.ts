/**
 * The AuthenticationClass CRD on the real API server: it is served cluster-scoped, accepts a class
 * of each provider, and refuses each kind of bad class with the message (and at the field) synth
 * reports. And a stacklet's `clusterConfig.authentication` takes class names, refusing one named
 * twice with synth's message (whether a class exists, and whether the product supports its
 * provider, is the build's question: the operator reports it in status and Events).
 */
import { ApiError, KubeClient } from '../../lib/operator/client';
import { authenticationClassCrd, authenticationClassProblems } from '../../lib/authentication';
import { productCrd } from '../../lib/stacklet/crd';
import { TRINO } from '../../constructs/trino';
import { specProblems } from '../../lib';
import { installCrd } from './admission';
import { adminKubeConfig } from './support';

const client = new KubeClient(adminKubeConfig());

/** What admission says of an object (a strict dry-run create): `accepted` or `<status>: <message>`. */
function admit(path: string, plural: string, body: object): Promise<string> {
  return client
    .request('create', 'POST', path, plural, { query: { fieldValidation: 'Strict', dryRun: 'All' }, body })
    .then(
      () => 'accepted',
      (e: unknown) => (e instanceof ApiError ? `${e.status}: ${e.message}` : String(e)),
    );
}

const verdict = (name: string, spec: unknown) =>
  admit('/apis/keelson.dev/v1alpha1/authenticationclasses', 'authenticationclasses', {
    apiVersion: 'keelson.dev/v1alpha1',
    kind: 'AuthenticationClass',
    metadata: { name },
    spec,
  });

// The API server writes `... is invalid: <path>: <reason>: <message>`.
const admissionPath = (text: string) => /is invalid: ([^\s:]+): /.exec(text)?.[1];

const LDAP = { host: 'ldap.example.org', searchBase: 'ou=people,dc=example,dc=org' };

beforeAll(async () => {
  await installCrd(authenticationClassCrd());
  await installCrd(productCrd(TRINO));
});

describe('the AuthenticationClass CRD on the API server', () => {
  it.each([
    ['a static class', { static: { userCredentialsSecretName: 'users' } }],
    [
      'an LDAP class with every field',
      {
        ldap: {
          ...LDAP,
          port: 636,
          searchFilter: '(memberOf=cn=analysts,ou=groups,dc=example,dc=org)',
          userIdAttribute: 'uid',
          bindCredentialsSecretName: 'ldap-bind',
          tls: { tlsClass: 'corp-ca' },
        },
      },
    ],
    [
      'an OIDC class',
      {
        oidc: {
          issuer: 'https://idp.example.org/realms/data',
          clientCredentialsSecretName: 'trino-oidc',
          scopes: ['openid', 'email'],
          principalClaim: 'preferred_username',
        },
      },
    ],
    ['a TLS class', { tls: { tlsClass: 'clients' } }],
    [
      'a Kerberos class',
      { kerberos: { realm: 'EXAMPLE.ORG', kdc: 'kdc.example.org', adminCredentialsSecretName: 'kadmin' } },
    ],
  ])('accepts %s, as synth does', async (_what, spec) => {
    expect(await verdict('corp', spec)).toBe('accepted');
    expect(authenticationClassProblems('corp', spec)).toEqual([]);
  });

  it.each([
    ['no provider', {}],
    ['two providers', { ldap: LDAP, static: { userCredentialsSecretName: 'users' } }],
    [
      'OIDC scopes without openid',
      { oidc: { issuer: 'https://idp', clientCredentialsSecretName: 'c', scopes: ['email'] } },
    ],
  ])('refuses %s at the field, with the message synth gives', async (_what, spec) => {
    const problems = authenticationClassProblems('corp', spec);
    expect(problems).toHaveLength(1);
    const [, path, message] = /^([^:]+): (.*)$/.exec(problems[0])!;
    const said = await verdict('corp', spec);
    expect(said).toMatch(/^422: /);
    expect(admissionPath(said)).toBe(path);
    expect(said).toContain(message);
  });

  it.each([
    [
      'an LDAP filter without parentheses',
      { ldap: { ...LDAP, searchFilter: 'uid=x' } },
      'spec.ldap.searchFilter',
    ],
    [
      'a lower case realm',
      { kerberos: { realm: 'example.org', kdc: 'kdc', adminCredentialsSecretName: 'kadmin' } },
      'spec.kerberos.realm',
    ],
    ['an unknown field', { static: { userCredentialsSecretName: 'u', password: 'x' } }, 'spec.static'],
  ])('refuses %s at the field synth names', async (_what, spec, path) => {
    const said = await verdict('corp', spec);
    // Strict field validation refuses an unknown field with 400, a bad value with 422.
    expect(said).toMatch(/^4(00|22): /);
    expect(said).toContain(path);
    expect(authenticationClassProblems('corp', spec).join('\n')).toContain(path);
  });

  it('refuses a name that is no DNS label, as synth does', async () => {
    const said = await verdict('corp.ldap', { ldap: LDAP });
    expect(said).toContain('metadata.name must be a DNS label');
    expect(authenticationClassProblems('corp.ldap', { ldap: LDAP })).toEqual([
      expect.stringContaining('metadata.name must be a DNS label'),
    ]);
  });
});

describe("a stacklet's clusterConfig.authentication on the API server", () => {
  const trino = (spec: object) =>
    admit('/apis/keelson.dev/v1alpha1/namespaces/default/trinoclusters', 'trinoclusters', {
      apiVersion: 'keelson.dev/v1alpha1',
      kind: 'TrinoCluster',
      metadata: { name: 'trino' },
      spec,
    });

  it('takes class names, and refuses one named twice with the message synth gives', async () => {
    const once = {
      clusterConfig: { authentication: [{ authenticationClass: 'a' }, { authenticationClass: 'b' }] },
    };
    expect(await trino(once)).toBe('accepted');
    expect(specProblems(TRINO.specSchema, once)).toEqual([]);
    const twice = {
      clusterConfig: { authentication: [{ authenticationClass: 'a' }, { authenticationClass: 'a' }] },
    };
    const [problem] = specProblems(TRINO.specSchema, twice);
    const [, path, message] = /^([^:]+): (.*)$/.exec(problem)!;
    expect(path).toBe('spec.clusterConfig.authentication');
    const said = await trino(twice);
    expect(admissionPath(said)).toBe(path);
    expect(said).toContain(message);
  });
});
