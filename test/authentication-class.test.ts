import { App, Chart, Testing } from 'cdk8s';
import {
  AuthenticationClass,
  authenticationClassCrd,
  authenticationClassesIn,
  authenticationClassInfoOf,
  authenticationClassProblems,
  authenticationTrustClasses,
  defineRole,
  frameworkCrds,
  ldapUrl,
  ldapUserFilter,
  Stacklet,
  stackletSpecSchema,
  type AnyStackletSpec,
  type AuthenticationClassInfo,
  type AuthenticationClassSpec,
  type AuthenticationProvider,
  type ProductDefinition,
  type StackletContext,
} from '../lib';

function classIn(spec: unknown, name = 'corp'): { chart: Chart; authenticationClass: AuthenticationClass } {
  const chart = new Chart(new App(), 'platform', { namespace: 'data' });
  return {
    chart,
    authenticationClass: new AuthenticationClass(chart, name, spec as AuthenticationClassSpec),
  };
}

const problems = (spec: unknown, name = 'corp') => authenticationClassProblems(name, spec);

const LDAP = { host: 'ldap.example.org', searchBase: 'ou=people,dc=example,dc=org' };
const EXACTLY_ONE = 'spec: exactly one provider must be given: static or ldap or oidc or tls or kerberos';

describe('AuthenticationClass', () => {
  test('writes the cluster-scoped custom resource, named by its id, without the chart namespace', () => {
    const { chart, authenticationClass } = classIn({ ldap: LDAP });
    expect(Testing.synth(chart)).toEqual([
      {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'AuthenticationClass',
        metadata: { name: 'corp' },
        spec: { ldap: LDAP },
      },
    ]);
    expect(authenticationClass.provider).toBe('ldap');
    expect(authenticationClass.problems).toEqual([]);
  });

  test('accepts each of the five providers, with every field', () => {
    const specs: Record<AuthenticationProvider, AuthenticationClassSpec> = {
      static: { static: { userCredentialsSecretName: 'trino-users' } },
      ldap: {
        ldap: {
          ...LDAP,
          port: 1636,
          searchFilter: '(memberOf=cn=analysts,ou=groups,dc=example,dc=org)',
          userIdAttribute: 'sAMAccountName',
          bindCredentialsSecretName: 'ldap-bind',
          tls: { tlsClass: 'corp-ca' },
        },
      },
      oidc: {
        oidc: {
          issuer: 'https://keycloak.example.org/realms/data',
          clientCredentialsSecretName: 'trino-oidc',
          scopes: ['openid', 'groups'],
          principalClaim: 'sub',
          tls: { tlsClass: 'corp-ca' },
        },
      },
      tls: { tls: { tlsClass: 'clients' } },
      kerberos: {
        kerberos: {
          realm: 'EXAMPLE.ORG',
          kdc: 'kdc.example.org',
          kdcPort: 88,
          adminServer: 'kdc.example.org',
          adminCredentialsSecretName: 'kerberos-admin',
        },
      },
    };
    for (const [provider, spec] of Object.entries(specs)) {
      expect({ provider, problems: problems(spec) }).toEqual({ provider, problems: [] });
      expect(authenticationClassInfoOf('corp', spec)?.provider).toBe(provider);
    }
  });

  test('rejects no provider and two providers, with the API server rule message', () => {
    expect(problems({})).toEqual([EXACTLY_ONE]);
    expect(problems({ ldap: LDAP, static: { userCredentialsSecretName: 'users' } })).toEqual([EXACTLY_ONE]);
    expect(authenticationClassInfoOf('corp', {})).toBeUndefined();
  });

  test('rejects bad fields, each at its field with what was expected', () => {
    expect(problems({ ldap: { ...LDAP, searchFilter: 'memberOf=cn=x' } })).toEqual([
      'spec.ldap.searchFilter: "memberOf=cn=x" is not an LDAP filter in parentheses, such as (objectClass=person)',
    ]);
    expect(problems({ ldap: { ...LDAP, port: 0 } })).toEqual(['spec.ldap.port: must be >= 1']);
    expect(problems({ ldap: { host: 'ldap' } })).toEqual(['spec.ldap.searchBase: is required']);
    expect(problems({ ldap: { ...LDAP, bindCredentialsSecretName: 'Bind_DN' } })).toEqual([
      'spec.ldap.bindCredentialsSecretName: "Bind_DN" is not a Secret name',
    ]);
    expect(problems({ ldap: { ...LDAP, tls: { tlsClass: 'Corp CA' } } })[0]).toMatch(
      /^spec\.ldap\.tls\.tlsClass: "Corp CA" is not a TlsClass name/,
    );
    expect(
      problems({ kerberos: { realm: 'example.org', kdc: 'kdc', adminCredentialsSecretName: 'kadmin' } }),
    ).toEqual([
      "spec.kerberos.realm: \"example.org\" is not a realm in upper case letters, digits, '-' and '.'",
    ]);
    expect(
      problems({ oidc: { issuer: 'keycloak.example.org', clientCredentialsSecretName: 'c' } })[0],
    ).toMatch(/^spec\.oidc\.issuer: "keycloak\.example\.org" is not an http\(s\) URL/);
    expect(problems({ static: { userCredentialsSecretName: 'users', extra: 1 } })).toEqual([
      'spec.static: unknown field "extra"; expected one of: userCredentialsSecretName',
    ]);
  });

  test('rejects OIDC scopes without openid at the field, with the rule message the CRD carries', () => {
    expect(
      problems({ oidc: { issuer: 'https://idp', clientCredentialsSecretName: 'c', scopes: ['email'] } }),
    ).toEqual([
      'spec.oidc.scopes: must include "openid": without it the provider answers with no ID token, and so no principal claim',
    ]);
  });

  test('rejects a name that is no DNS label, and a second class of the same name in the app', () => {
    expect(problems({ ldap: LDAP }, 'Corp')).toEqual([
      expect.stringMatching(/^metadata\.name: "Corp": metadata\.name must be a DNS label/),
    ]);
    const { chart } = classIn({ ldap: LDAP });
    const other = new Chart(chart.node.root as App, 'other', { namespace: 'more' });
    const second = new AuthenticationClass(other, 'corp', { static: { userCredentialsSecretName: 'u' } });
    expect(second.problems).toEqual([
      'metadata.name: another AuthenticationClass is named "corp" in this app; a class is cluster-wide',
    ]);
    expect(second.apiObject).toBeUndefined();
    expect(() => (chart.node.root as App).synth()).toThrow(
      /AuthenticationClass "corp": metadata\.name: another/,
    );
    // Only the valid class is known to stacklets.
    expect(authenticationClassesIn(chart).map((c) => c.provider)).toEqual(['ldap']);
  });

  test('the CRD is cluster-scoped, carries the same rules and is one of the framework CRDs', () => {
    const crd = authenticationClassCrd() as {
      metadata: { name: string };
      spec: {
        scope: string;
        versions: { schema: { openAPIV3Schema: { properties: { spec: Record<string, unknown> } } } }[];
      };
    };
    expect(crd.metadata.name).toBe('authenticationclasses.keelson.dev');
    expect(crd.spec.scope).toBe('Cluster');
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec as {
      'x-kubernetes-validations': { rule: string; message: string }[];
      properties: { oidc: { 'x-kubernetes-validations': { fieldPath: string }[] } };
    };
    expect(spec['x-kubernetes-validations'].map((v) => v.message)).toEqual([
      EXACTLY_ONE.slice('spec: '.length),
    ]);
    expect(spec.properties.oidc['x-kubernetes-validations'].map((v) => v.fieldPath)).toEqual(['.scopes']);
    expect(frameworkCrds().map((c) => (c as { metadata: { name: string } }).metadata.name)).toContain(
      'authenticationclasses.keelson.dev',
    );
  });

  test('LDAP helpers: the URL by TLS, the user filter with and without the class filter', () => {
    expect(ldapUrl(LDAP)).toBe('ldap://ldap.example.org:389');
    expect(ldapUrl({ ...LDAP, tls: { tlsClass: 'ca' } })).toBe('ldaps://ldap.example.org:636');
    expect(ldapUrl({ ...LDAP, port: 10389 })).toBe('ldap://ldap.example.org:10389');
    expect(ldapUserFilter(LDAP, '${USER}')).toBe('(uid=${USER})');
    expect(
      ldapUserFilter({ ...LDAP, userIdAttribute: 'cn', searchFilter: '(memberOf=cn=a,dc=x)' }, '%s'),
    ).toBe('(&(cn=%s)(memberOf=cn=a,dc=x))');
    const info = (name: string, spec: AuthenticationClassSpec) => authenticationClassInfoOf(name, spec)!;
    expect(
      authenticationTrustClasses([
        info('a', { ldap: { ...LDAP, tls: { tlsClass: 'ldap-ca' } } }),
        info('b', { ldap: LDAP }),
        info('c', {
          oidc: { issuer: 'https://idp', clientCredentialsSecretName: 'c', tls: { tlsClass: 'idp-ca' } },
        }),
      ]),
    ).toEqual(['ldap-ca', 'idp-ca']);
  });
});

/** The classes each build handed to the product, by stacklet. */
let seen: readonly AuthenticationClassInfo[] | undefined;

/** A test product that maps `providers`. */
function product(providers?: readonly AuthenticationProvider[]): ProductDefinition {
  return {
    name: 'beacon',
    kind: 'BeaconCluster',
    plural: 'beaconclusters',
    description: 'test product',
    authenticationProviders: providers,
    specSchema: stackletSpecSchema({
      description: 'test product',
      clusterConfig: {},
      roles: { lights: { config: {}, configFiles: [], jvm: false } },
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
        configFiles: {},
        configMountPath: '/etc/beacon',
        pod: (stacklet: StackletContext) => {
          seen = stacklet.authentication;
          return { container: {}, configFiles: {} };
        },
      }),
    ],
  };
}

function build(
  providers: readonly AuthenticationProvider[] | undefined,
  names: readonly string[],
  classes?: Record<string, AuthenticationClassSpec>,
) {
  seen = undefined;
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'ops' });
  for (const [name, spec] of Object.entries(classes ?? {})) new AuthenticationClass(chart, name, spec);
  const spec: AnyStackletSpec = {
    clusterConfig: { authentication: names.map((authenticationClass) => ({ authenticationClass })) },
  };
  return new Stacklet(chart, 'harbour', product(providers), spec);
}

const CLASSES: Record<string, AuthenticationClassSpec> = {
  directory: { ldap: LDAP },
  users: { static: { userCredentialsSecretName: 'users' } },
  sso: { oidc: { issuer: 'https://idp.example.org', clientCredentialsSecretName: 'sso' } },
};

describe("a stacklet's clusterConfig.authentication", () => {
  test('hands the product the classes it names, in order, when it supports their providers', () => {
    const stacklet = build(['static', 'ldap'], ['users', 'directory'], CLASSES);
    expect(stacklet.problems).toEqual([]);
    expect(seen?.map((c) => [c.name, c.provider])).toEqual([
      ['users', 'static'],
      ['directory', 'ldap'],
    ]);
  });

  test('hands no classes when it names none, whatever the product supports', () => {
    expect(build(undefined, [], CLASSES).problems).toEqual([]);
    expect(seen).toEqual([]);
  });

  test('rejects a class of a provider the product does not support, naming the class, provider and what is supported', () => {
    expect(build(['static', 'ldap'], ['directory', 'sso'], CLASSES).problems).toEqual([
      'spec.clusterConfig.authentication[1].authenticationClass: the AuthenticationClass "sso" has the oidc ' +
        'provider, which BeaconCluster does not support; it supports static, ldap',
    ]);
  });

  test('rejects any class for a product that supports none, at the field', () => {
    const said = build(undefined, ['directory'], CLASSES).problems;
    expect(said).toEqual([
      'spec.clusterConfig.authentication: BeaconCluster supports no AuthenticationClass yet (none of static, ' +
        'ldap, oidc, tls, kerberos is mapped onto its settings); remove the field',
    ]);
    expect(build([], ['directory'], CLASSES).problems).toEqual(said);
  });

  test('rejects a class that does not exist, and one named twice (the CRD rule)', () => {
    expect(build(['ldap'], ['missing'], CLASSES).problems).toEqual([
      'spec.clusterConfig.authentication[0].authenticationClass: the AuthenticationClass "missing" does not ' +
        'exist; create it (operator mode) or define an AuthenticationClass construct of that name before this ' +
        'stacklet (synth mode)',
    ]);
    expect(build(['ldap'], ['directory', 'directory'], CLASSES).problems).toEqual([
      'spec.clusterConfig.authentication: names an AuthenticationClass more than once: name each class once',
    ]);
  });

  test('takes the classes the operator passes instead of the app', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'ops' });
    const stacklet = new Stacklet(
      chart,
      'harbour',
      product(['ldap']),
      { clusterConfig: { authentication: [{ authenticationClass: 'directory' }] } },
      { authenticationClasses: [authenticationClassInfoOf('directory', { ldap: LDAP })!] },
    );
    expect(stacklet.problems).toEqual([]);
    expect(seen?.map((c) => c.name)).toEqual(['directory']);
  });
});
