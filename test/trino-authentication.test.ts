import { execFileSync } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import {
  bindEnv,
  CERTIFICATE_USER_PATTERN,
  HASH_PASSWORDS_PROGRAM,
  oidcClientEnv,
  PBKDF2_ITERATIONS,
  TrinoCluster,
  type TrinoClusterProps,
} from '../constructs/trino';
import { OpaCluster } from '../constructs/opa';
import {
  AuthenticationClass,
  CONFIG_HASH_ANNOTATION,
  registerTlsClass,
  type AuthenticationClassSpec,
} from '../lib';
import { find, problemsOf, type Obj } from './support/synth';

const LDAP = {
  host: 'openldap.identity.svc.cluster.local',
  searchBase: 'ou=people,dc=example,dc=org',
};
const CLASSES: Record<string, AuthenticationClassSpec> = {
  directory: {
    ldap: {
      ...LDAP,
      searchFilter: '(memberOf=cn=analysts,ou=groups,dc=example,dc=org)',
      bindCredentialsSecretName: 'ldap-bind',
    },
  },
  'direct-bind': { ldap: { ...LDAP, port: 10389 } },
  'ldaps-directory': { ldap: { ...LDAP, tls: { tlsClass: 'identity-ca' } } },
  users: { static: { userCredentialsSecretName: 'trino-users' } },
  sso: { oidc: { issuer: 'https://idp.example.org', clientCredentialsSecretName: 'sso' } },
  'sso-internal': {
    oidc: {
      issuer: 'https://hydra.identity.svc.cluster.local:4444/',
      clientCredentialsSecretName: 'trino-oidc',
      scopes: ['openid', 'groups'],
      principalClaim: 'sub',
      tls: { tlsClass: 'identity-ca' },
    },
  },
  cert: { tls: { tlsClass: 'clients' } },
  'cert-other': { tls: { tlsClass: 'partners' } },
  krb: {
    kerberos: {
      realm: 'EXAMPLE.ORG',
      kdc: 'kdc.identity.svc.cluster.local',
      adminCredentialsSecretName: 'kdc-admin',
    },
  },
};

function properties(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/\\(.)/g, '$1')]),
  );
}

/** A TrinoCluster naming `classes`, with the TlsClass `tls` (HTTPS) unless `tls` is false. */
function synth(classes: string[], options: { tls?: boolean; props?: TrinoClusterProps } = {}) {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  if (options.tls ?? true) registerTlsClass(chart, { name: 'tls' });
  for (const [name, spec] of Object.entries(CLASSES)) new AuthenticationClass(chart, name, spec);
  const trino = new TrinoCluster(chart, 'trino', {
    ...options.props,
    clusterConfig: { authentication: classes.map((authenticationClass) => ({ authenticationClass })) },
  });
  return { trino, chart, objs: trino.problems.length === 0 ? (Testing.synth(chart) as Obj[]) : [] };
}

const configMap = (objs: Obj[], role: string) =>
  find(objs, 'ConfigMap', `trino-${role}-default`) as unknown as { data: Record<string, string> };
const podSpec = (objs: Obj[], role: string) =>
  (
    find(objs, 'StatefulSet', `trino-${role}-default`) as unknown as {
      spec: { template: { spec: Record<string, never> } };
    }
  ).spec.template.spec as unknown as {
    initContainers?: {
      name: string;
      command: string[];
      volumeMounts: { name: string; mountPath: string }[];
    }[];
    containers: {
      name: string;
      env: { name: string; valueFrom?: unknown }[];
      volumeMounts: { name: string }[];
    }[];
    volumes: { name: string; secret?: { secretName: string }; projected?: unknown }[];
  };

describe('Trino password authentication from AuthenticationClasses', () => {
  test('an LDAP class with bind credentials: the coordinator searches with the bind DN from its Secret, never in a ConfigMap', () => {
    const { objs } = synth(['directory']);
    const coordinator = configMap(objs, 'coordinators').data;
    expect(properties(coordinator['config.properties'])).toMatchObject({
      'http-server.authentication.type': 'PASSWORD',
      'password-authenticator.config-files': '/keelson/config/password-authenticator-directory.properties',
      'http-server.https.enabled': 'true',
      'internal-communication.shared-secret': '${ENV:TRINO_INTERNAL_SHARED_SECRET}',
    });
    expect(properties(coordinator['password-authenticator-directory.properties'])).toEqual({
      'password-authenticator.name': 'ldap',
      'ldap.url': 'ldap://openldap.identity.svc.cluster.local:389',
      'ldap.allow-insecure': 'true',
      'ldap.user-base-dn': 'ou=people,dc=example,dc=org',
      'ldap.bind-dn': '${ENV:TRINO_AUTH_DIRECTORY_BIND_DN}',
      'ldap.bind-password': '${ENV:TRINO_AUTH_DIRECTORY_BIND_PASSWORD}',
      'ldap.group-auth-pattern': '(&(uid=${USER})(memberOf=cn=analysts,ou=groups,dc=example,dc=org))',
    });
    const env = podSpec(objs, 'coordinators').containers[0].env;
    expect(env.filter((e) => e.name.startsWith('TRINO_AUTH_'))).toEqual([
      { name: bindEnv('directory', 'DN'), valueFrom: { secretKeyRef: { name: 'ldap-bind', key: 'user' } } },
      {
        name: bindEnv('directory', 'PASSWORD'),
        valueFrom: { secretKeyRef: { name: 'ldap-bind', key: 'password' } },
      },
    ]);
    // No Secret is written, nor any credential value.
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  test('workers keep no authenticator and the same files as without authentication', () => {
    const { objs } = synth(['directory', 'users']);
    const plain = synth([]).objs;
    expect(configMap(objs, 'workers').data).toEqual(configMap(plain, 'workers').data);
    expect(podSpec(objs, 'workers').initContainers).toBeUndefined();
  });

  test('an LDAP class without bind credentials: the user binds directly; over TLS the server is verified against its class', () => {
    const { objs } = synth(['direct-bind', 'ldaps-directory']);
    const data = configMap(objs, 'coordinators').data;
    expect(properties(data['password-authenticator-direct-bind.properties'])).toEqual({
      'password-authenticator.name': 'ldap',
      'ldap.url': 'ldap://openldap.identity.svc.cluster.local:10389',
      'ldap.allow-insecure': 'true',
      'ldap.user-base-dn': 'ou=people,dc=example,dc=org',
      'ldap.user-bind-pattern': 'uid=${USER},ou=people,dc=example,dc=org',
    });
    expect(properties(data['password-authenticator-ldaps-directory.properties'])).toMatchObject({
      'ldap.url': 'ldaps://openldap.identity.svc.cluster.local:636',
      'ldap.ssl.truststore.path': '/keelson/tls/trust/identity-ca/ca.crt',
    });
    expect(properties(data['config.properties'])['password-authenticator.config-files']).toBe(
      '/keelson/config/password-authenticator-direct-bind.properties,' +
        '/keelson/config/password-authenticator-ldaps-directory.properties',
    );
    const pod = podSpec(objs, 'coordinators');
    expect(pod.volumes.map((v) => v.name)).toContain('tls-trust-identity-ca');
    expect(pod.containers[0].env.filter((e) => e.name.startsWith('TRINO_AUTH_'))).toEqual([]);
  });

  test('a static class: an init container hashes the Secret it alone mounts into a file the coordinator reads', () => {
    const { objs } = synth(['users']);
    const data = configMap(objs, 'coordinators').data;
    expect(properties(data['password-authenticator-users.properties'])).toEqual({
      'password-authenticator.name': 'file',
      'file.password-file': '/keelson/auth/users.db',
    });
    expect(data['HashPasswords.java']).toBe(HASH_PASSWORDS_PROGRAM);
    const pod = podSpec(objs, 'coordinators');
    expect(pod.volumes.filter((v) => v.name.startsWith('auth-'))).toEqual([
      { name: 'auth-passwords', emptyDir: {} },
      { name: 'auth-users-0', secret: { secretName: 'trino-users', defaultMode: 0o440 } },
    ]);
    const [init] = pod.initContainers!;
    expect(init.name).toBe('hash-passwords');
    expect(init.command.slice(-3)).toEqual([
      '/keelson/config/HashPasswords.java',
      '/keelson/auth-users/users',
      '/keelson/auth/users.db',
    ]);
    expect(init.volumeMounts.map((m) => m.name)).toEqual(['config', 'auth-passwords', 'auth-users-0']);
    // The Trino process's container reads the hashes, never the Secret of passwords.
    const mounts = pod.containers[0].volumeMounts.map((m) => m.name);
    expect(mounts).toContain('auth-passwords');
    expect(mounts).not.toContain('auth-users-0');
  });

  test('rejects password authentication over plain HTTP, at the field', () => {
    const { trino } = synth(['directory'], { tls: false });
    expect(trino.problems).toEqual([
      'spec.clusterConfig.authentication: Trino takes passwords only over HTTPS (tokens and client certificates ' +
        'too), and this cluster serves plain HTTP (no TlsClass serves it); turn TLS on: name an existing TlsClass in ' +
        'spec.clusterConfig.tls.serverTlsClass (or create the default class "tls"), or remove the authentication',
    ]);
    expect(() => Testing.synth(trino.node.scope as Chart)).toThrow(/Trino takes passwords only over HTTPS/);
  });

  test('an OIDC class: OAuth2 for the API and the web UI, the client credentials from their Secret, never in a ConfigMap', () => {
    const { objs } = synth(['sso']);
    const data = configMap(objs, 'coordinators').data;
    const config = properties(data['config.properties']);
    expect(config).toMatchObject({
      'http-server.authentication.type': 'OAUTH2',
      'web-ui.authentication.type': 'OAUTH2',
      'http-server.authentication.oauth2.issuer': 'https://idp.example.org',
      'http-server.authentication.oauth2.client-id': '${ENV:TRINO_AUTH_SSO_CLIENT_ID}',
      'http-server.authentication.oauth2.client-secret': '${ENV:TRINO_AUTH_SSO_CLIENT_SECRET}',
      'http-server.authentication.oauth2.scopes': 'openid,email,profile',
      'http-server.authentication.oauth2.principal-field': 'preferred_username',
      'http-server.authentication.oauth2.oidc.use-userinfo-endpoint': 'false',
    });
    // No password authenticator, and the image's own CAs verify the provider.
    expect(config['password-authenticator.config-files']).toBeUndefined();
    expect(config['oauth2-jwk.http-client.trust-store-path']).toBeUndefined();
    expect(Object.keys(data).filter((k) => k.startsWith('password-authenticator'))).toEqual([]);
    expect(
      podSpec(objs, 'coordinators').containers[0].env.filter((e) => e.name.startsWith('TRINO_AUTH_')),
    ).toEqual([
      { name: oidcClientEnv('sso', 'ID'), valueFrom: { secretKeyRef: { name: 'sso', key: 'clientId' } } },
      {
        name: oidcClientEnv('sso', 'SECRET'),
        valueFrom: { secretKeyRef: { name: 'sso', key: 'clientSecret' } },
      },
    ]);
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    // Workers take no logins.
    expect(configMap(objs, 'workers').data).toEqual(configMap(synth([]).objs, 'workers').data);
  });

  test("an OIDC class beside password classes: both authenticators, the class's scopes, claim and CA", () => {
    const { objs } = synth(['directory', 'sso-internal', 'users']);
    const config = properties(configMap(objs, 'coordinators').data['config.properties']);
    expect(config).toMatchObject({
      'http-server.authentication.type': 'PASSWORD,OAUTH2',
      'web-ui.authentication.type': 'OAUTH2',
      'password-authenticator.config-files':
        '/keelson/config/password-authenticator-directory.properties,' +
        '/keelson/config/password-authenticator-users.properties',
      'http-server.authentication.oauth2.issuer': 'https://hydra.identity.svc.cluster.local:4444/',
      'http-server.authentication.oauth2.scopes': 'openid,groups',
      'http-server.authentication.oauth2.principal-field': 'sub',
      'oauth2-jwk.http-client.trust-store-path': '/keelson/tls/trust/identity-ca/ca.crt',
    });
    expect(podSpec(objs, 'coordinators').volumes.map((v) => v.name)).toContain('tls-trust-identity-ca');
  });

  test('rejects a second OIDC class and a provider Trino does not map, at the field', () => {
    const two = synth(['sso', 'sso-internal']).trino;
    const problem =
      'spec.clusterConfig.authentication: Trino has one OAuth2 configuration, so at most one oidc ' +
      'AuthenticationClass, not 2 ("sso", "sso-internal"); keep one';
    expect(two.problems).toEqual([problem]);
    expect(problemsOf(two)).toBe(`TrinoCluster "trino": ${problem}`);
    expect(synth(['cert', 'cert-other']).trino.problems).toEqual([
      "spec.clusterConfig.authentication: Trino's HTTPS server has one trust store for client certificates, so at " +
        'most one tls AuthenticationClass, not 2 ("cert", "cert-other"); keep one',
    ]);
    expect(synth(['directory', 'krb']).trino.problems).toEqual([
      'spec.clusterConfig.authentication[1].authenticationClass: the AuthenticationClass "krb" has the kerberos ' +
        'provider, which TrinoCluster does not support; it supports static, ldap, oidc, tls',
    ]);
    // A certificate class over plain HTTP is refused like the others.
    expect(synth(['cert'], { tls: false }).trino.problems[0]).toMatch(
      /^spec\.clusterConfig\.authentication: Trino takes passwords only over HTTPS \(tokens and client certificates too\)/,
    );
  });

  test("a tls class: certificate authentication first, the class's CAs as the HTTPS trust store, the user the CN", () => {
    const { objs } = synth(['cert', 'directory', 'sso']);
    const config = properties(configMap(objs, 'coordinators').data['config.properties']);
    expect(config).toMatchObject({
      'http-server.authentication.type': 'CERTIFICATE,PASSWORD,OAUTH2',
      'http-server.https.truststore.path': '/keelson/tls/trust/clients/ca.crt',
      'http-server.authentication.certificate.user-mapping.pattern': CERTIFICATE_USER_PATTERN,
    });
    const pod = podSpec(objs, 'coordinators');
    expect(pod.volumes.map((v) => v.name)).toContain('tls-trust-clients');
    expect(pod.containers[0].volumeMounts.map((m) => m.name)).toContain('tls-trust-clients');
    // Alone, it is the one authenticator; workers neither ask for nor trust client certificates.
    const alone = synth(['cert']).objs;
    expect(properties(configMap(alone, 'coordinators').data['config.properties'])).toMatchObject({
      'http-server.authentication.type': 'CERTIFICATE',
    });
    expect(configMap(alone, 'workers').data['config.properties']).not.toContain(
      'http-server.https.truststore.path',
    );
    expect(podSpec(alone, 'workers').volumes.map((v) => v.name)).not.toContain('tls-trust-clients');
  });

  test("the user mapping takes the subject's CN, as Java's regex matches Trino's whole principal", () => {
    // Trino matches the X.500 name it reads (X500Principal#toString) against the whole pattern.
    const pattern = new RegExp(`^${CERTIFICATE_USER_PATTERN}$`);
    const user = (subject: string) => pattern.exec(subject)?.[1];
    expect(user('CN=alice')).toBe('alice');
    expect(user('CN=alice, OU=analytics, O=example')).toBe('alice');
    expect(user('O=example, OU=analytics, CN=bob')).toBe('bob');
    expect(user('CN=carol smith, O=example')).toBe('carol smith');
    expect(user('O=example, OU=no-common-name')).toBeUndefined();
  });
});

describe('changes to a running Trino: which pods roll', () => {
  /** Each role's pod template config hash, for `classes` and with or without OPA. */
  function hashes(classes: string[], opa: boolean): Record<string, string> {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    registerTlsClass(chart, { name: 'tls' });
    for (const [name, spec] of Object.entries(CLASSES)) new AuthenticationClass(chart, name, spec);
    const policies = opa ? new OpaCluster(chart, 'opa', {}) : undefined;
    new TrinoCluster(chart, 'trino', {
      clusterConfig: { authentication: classes.map((authenticationClass) => ({ authenticationClass })) },
      ...(policies ? { opa: { cluster: policies, package: 'trino' } } : {}),
    });
    const objs = Testing.synth(chart) as Obj[];
    return Object.fromEntries(
      ['coordinators', 'workers'].map((role) => [
        role,
        (
          find(objs, 'StatefulSet', `trino-${role}-default`) as unknown as {
            spec: { template: { metadata: { annotations: Record<string, string> } } };
          }
        ).spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION],
      ]),
    );
  }
  const rolls = (from: Record<string, string>, to: Record<string, string>) =>
    Object.keys(from).filter((role) => from[role] !== to[role]);

  test('adding or removing a class, an oidc or tls class, or OPA rolls the coordinator only', () => {
    const none = hashes([], false);
    const ldap = hashes(['directory'], false);
    const both = hashes(['directory', 'sso'], false);
    const cert = hashes(['directory', 'cert'], false);
    const withOpa = hashes(['directory'], true);
    expect(rolls(none, ldap)).toEqual(['coordinators']);
    expect(rolls(ldap, none)).toEqual(['coordinators']);
    expect(rolls(ldap, both)).toEqual(['coordinators']);
    expect(rolls(both, ldap)).toEqual(['coordinators']);
    expect(rolls(ldap, cert)).toEqual(['coordinators']);
    expect(rolls(cert, ldap)).toEqual(['coordinators']);
    expect(rolls(none, hashes(['cert'], false))).toEqual(['coordinators']);
    expect(rolls(ldap, withOpa)).toEqual(['coordinators']);
    expect(rolls(withOpa, ldap)).toEqual(['coordinators']);
  });
});

describe('HashPasswords.java', () => {
  test("writes the PBKDF2 lines Trino's file authenticator checks, for every user file and no kubelet file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-hash-'));
    try {
      const users = path.join(dir, 'users');
      // A Secret volume's layout: the kubelet's ..data folder, and each key a link into it.
      fs.mkdirSync(path.join(users, '..data'), { recursive: true });
      const passwords = { alice: 'correct horse', bob: 'p@ss:word=1' };
      for (const [user, password] of Object.entries(passwords)) {
        fs.writeFileSync(path.join(users, '..data', user), password);
        fs.symlinkSync(path.join('..data', user), path.join(users, user));
      }
      fs.writeFileSync(path.join(dir, 'HashPasswords.java'), HASH_PASSWORDS_PROGRAM);
      const out = path.join(dir, 'password.db');
      execFileSync('java', ['-XX:-UsePerfData', path.join(dir, 'HashPasswords.java'), users, out]);
      const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
      expect(lines.map((l) => l.split(':')[0])).toEqual(['alice', 'bob']);
      for (const line of lines) {
        // user:iterations:salt:hash, lower case hex (what Trino's PBKDF2 reader decodes)
        const [user, iterations, salt, hash] = line.split(':');
        expect(Number(iterations)).toBe(PBKDF2_ITERATIONS);
        expect(salt).toMatch(/^[0-9a-f]{32}$/);
        expect(hash).toMatch(/^[0-9a-f]{64}$/);
        const check = (password: string) =>
          pbkdf2Sync(password, Buffer.from(salt, 'hex'), Number(iterations), 32, 'sha1').toString('hex');
        expect(check(passwords[user as keyof typeof passwords])).toBe(hash);
        expect(check('wrong')).not.toBe(hash);
      }
      expect(fs.readFileSync(out, 'utf8')).not.toContain('correct horse');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
