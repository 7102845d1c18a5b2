/**
 * Trino's authentication from keelson's AuthenticationClasses (lib/authentication):
 * - `ldap` and `static`: each a password authenticator of the coordinator
 *   (`http-server.authentication.type=PASSWORD`, one file per class in
 *   `password-authenticator.config-files`, tried in the spec's order);
 * - `oidc`: Trino's OAuth 2.0 authenticator (`OAUTH2`), one per cluster (Trino has one OAuth2
 *   configuration, so TRINO.validate refuses a second class). It accepts a Bearer access token the
 *   provider signed (a JWT checked against the issuer's keys, its issuer, and an audience that must
 *   include the client id when the token names one), and sends a browser without one through the
 *   provider's authorization endpoint (`web-ui.authentication.type=OAUTH2`). The user is the
 *   token's `principalClaim`. Listed beside password classes, both are on
 *   (`PASSWORD,OAUTH2`): a client may send a password or a token; the web UI uses the provider.
 * - `tls`: Trino's certificate authenticator (`CERTIFICATE`), one per cluster (the HTTPS server has
 *   one trust store, so TRINO.validate refuses a second class). The coordinator's HTTPS server asks
 *   every client for a certificate (airlift's server always wants one) and verifies it against the
 *   class's TlsClass CAs (`http-server.https.truststore.path`, the class's ClusterTrustBundles
 *   mounted as a client's trust, which the kubelet keeps current and airlift reloads); the user is
 *   the certificate's subject common name (`CN=alice,O=data` → `alice`, Trino's user mapping); a
 *   certificate without one is refused. It comes first (`CERTIFICATE,PASSWORD,OAUTH2`): a client
 *   with a certificate needs no password, one without falls through to the other classes. A client
 *   whose certificate another CA signed fails the TLS handshake itself.
 *
 * Trino takes passwords, tokens and certificates only over HTTPS, so the cluster's port must speak
 * TLS (TRINO.validate refuses it otherwise). Workers
 * are not clients' to reach: they keep no authenticator, and the nodes authenticate each other with
 * the internal shared secret, which Trino needs with authentication on and keelson always sets.
 *
 * No credential is in a ConfigMap:
 * - `ldap`: the bind DN and password come from the class's Secret as environment variables of the
 *   coordinator (`secretKeyRef`), which the file names through Trino's `${ENV:...}` substitution.
 * - `oidc`: the client id and secret likewise (`clientId`, `clientSecret` of the class's Secret).
 *   A changed Secret rolls the coordinator (the operator's Secret stamps), which reads it anew.
 * - `static`: Trino's file authenticator reads bcrypt or PBKDF2 hashes, not passwords. An init
 *   container of the coordinator (the Trino image's own JDK, running the one-file program
 *   `HashPasswords.java` from the role group's ConfigMap) reads the class's Secret, mounted into
 *   that init container only, and writes `user:<iterations>:<salt>:<hash>` lines (PBKDF2 with
 *   HMAC-SHA1, the form Trino reads) into an emptyDir the coordinator reads `file.password-file`
 *   from. The plain passwords never reach the Trino process's container; a changed Secret rolls the
 *   coordinator (the operator's Secret stamps), whose init container hashes it again.
 */
import type { Container, EnvVar, Volume, VolumeMount } from '../../imports/k8s-wire';
import {
  AUTHENTICATION_CLASS_DEFAULTS,
  CONFIG_VOLUME,
  LDAP_BIND_CREDENTIAL_KEYS,
  OIDC_CLIENT_CREDENTIAL_KEYS,
  ldapUrl,
  ldapUserFilter,
  ldapUserIdAttribute,
  renderProperties,
  tlsTrustFile,
  type AuthenticationClassInfo,
  type AuthenticationProvider,
} from '../../lib';

/** The providers Trino maps; the framework refuses the others (kerberos: not yet). */
export const TRINO_AUTHENTICATION_PROVIDERS: readonly AuthenticationProvider[] = [
  'static',
  'ldap',
  'oidc',
  'tls',
];

/**
 * The user of a client certificate: its subject's common name, wherever it stands in the name
 * Trino reads (`CN=alice, OU=x, O=y`); Trino matches the whole name and takes the first group.
 */
export const CERTIFICATE_USER_PATTERN = '(?:.*,\\s*)?CN=([^,]+)(?:,.*)?';

/** The providers Trino takes as password authenticators. */
const PASSWORD_PROVIDERS: readonly AuthenticationProvider[] = ['static', 'ldap'];

/** What Trino replaces with the name a user logs in with, in LDAP patterns. */
const USER_PLACEHOLDER = '${USER}';

/** Where the hashed password files are (an emptyDir the init container writes). */
export const PASSWORD_FILES_DIR = '/keelson/auth';
const PASSWORD_FILES_VOLUME = 'auth-passwords';
/** Where the init container finds each static class's users (its Secret). */
const USERS_DIR = '/keelson/auth-users';
/** The hashing program, a key of the role group's ConfigMap. */
export const HASH_PASSWORDS_FILE = 'HashPasswords.java';
const HASH_INIT_MEMORY = '256Mi';
/** PBKDF2 iterations of each hash: Trino asks for at least 1000. */
export const PBKDF2_ITERATIONS = 100_000;

/** The password authenticator file of a class, a key of the role group's ConfigMap. */
export function passwordAuthenticatorFile(className: string): string {
  return `password-authenticator-${className}.properties`;
}

/** The hashed password file of a static class. */
export function passwordFile(className: string): string {
  return `${PASSWORD_FILES_DIR}/${className}.db`;
}

/** The environment variable of an LDAP class's bind DN or password. */
export function bindEnv(className: string, what: 'DN' | 'PASSWORD'): string {
  return `TRINO_AUTH_${className.toUpperCase().replace(/-/g, '_')}_BIND_${what}`;
}

/** The environment variable of an OIDC class's client id or secret. */
export function oidcClientEnv(className: string, what: 'ID' | 'SECRET'): string {
  return `TRINO_AUTH_${className.toUpperCase().replace(/-/g, '_')}_CLIENT_${what}`;
}

/**
 * The problems of `classes` as Trino's: it has one OAuth2 configuration, so at most one `oidc`
 * class. Each message names the field and the rule.
 */
export function trinoAuthenticationProblems(classes: readonly AuthenticationClassInfo[]): string[] {
  const named = (provider: AuthenticationProvider) =>
    classes.filter((c) => c.provider === provider).map((c) => `"${c.name}"`);
  const oidc = named('oidc');
  const tls = named('tls');
  return [
    ...(oidc.length > 1
      ? [
          `spec.clusterConfig.authentication: Trino has one OAuth2 configuration, so at most one oidc ` +
            `AuthenticationClass, not ${oidc.length} (${oidc.join(', ')}); keep one`,
        ]
      : []),
    ...(tls.length > 1
      ? [
          `spec.clusterConfig.authentication: Trino's HTTPS server has one trust store for client ` +
            `certificates, so at most one tls AuthenticationClass, not ${tls.length} (${tls.join(', ')}); keep one`,
        ]
      : []),
  ];
}

function certificateProperties(info: AuthenticationClassInfo): Record<string, string> {
  return {
    'http-server.https.truststore.path': tlsTrustFile(info.spec.tls!.tlsClass),
    'http-server.authentication.certificate.user-mapping.pattern': CERTIFICATE_USER_PATTERN,
  };
}

function oidcProperties(info: AuthenticationClassInfo): Record<string, string> {
  const oidc = info.spec.oidc!;
  const prefix = 'http-server.authentication.oauth2';
  return {
    [`${prefix}.issuer`]: oidc.issuer,
    [`${prefix}.client-id`]: `\${ENV:${oidcClientEnv(info.name, 'ID')}}`,
    [`${prefix}.client-secret`]: `\${ENV:${oidcClientEnv(info.name, 'SECRET')}}`,
    [`${prefix}.scopes`]: (oidc.scopes ?? AUTHENTICATION_CLASS_DEFAULTS.oidcScopes).join(','),
    [`${prefix}.principal-field`]: oidc.principalClaim ?? AUTHENTICATION_CLASS_DEFAULTS.oidcPrincipalClaim,
    // Check a Bearer JWT here (keys, issuer, audience), not by asking the provider's userinfo
    // endpoint: that endpoint checks no audience, so a token minted for another service would pass.
    [`${prefix}.oidc.use-userinfo-endpoint`]: 'false',
    'web-ui.authentication.type': 'OAUTH2',
    // The HTTP client that reads the discovery document and keys, and trades codes for tokens.
    ...(oidc.tls ? { 'oauth2-jwk.http-client.trust-store-path': tlsTrustFile(oidc.tls.tlsClass) } : {}),
  };
}

function oidcEnv(info: AuthenticationClassInfo): EnvVar[] {
  const secret = info.spec.oidc!.clientCredentialsSecretName;
  const from = (key: string) => ({ secretKeyRef: { name: secret, key } });
  return [
    { name: oidcClientEnv(info.name, 'ID'), valueFrom: from(OIDC_CLIENT_CREDENTIAL_KEYS.clientId) },
    { name: oidcClientEnv(info.name, 'SECRET'), valueFrom: from(OIDC_CLIENT_CREDENTIAL_KEYS.clientSecret) },
  ];
}

/**
 * The one-file Java program (run with `java HashPasswords.java <users dir> <password file> ...`)
 * that turns each user file of a Secret volume (its name the user, its content the password) into
 * a line of Trino's password file. Files and folders whose names start with a dot are the
 * kubelet's own (`..data`).
 */
export const HASH_PASSWORDS_PROGRAM = `import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/** keelson: Trino's password file (PBKDF2 with HMAC-SHA1) from a Secret's users, never their passwords. */
public class HashPasswords {
  public static void main(String[] args) throws Exception {
    SecretKeyFactory pbkdf2 = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA1");
    SecureRandom random = new SecureRandom();
    HexFormat hex = HexFormat.of();
    for (int i = 0; i + 1 < args.length; i += 2) {
      List<Path> users;
      try (var files = Files.list(Path.of(args[i]))) {
        users = files.filter(f -> !f.getFileName().toString().startsWith(".") && Files.isRegularFile(f)).sorted().toList();
      }
      StringBuilder lines = new StringBuilder();
      for (Path user : users) {
        byte[] salt = new byte[16];
        random.nextBytes(salt);
        char[] password = new String(Files.readAllBytes(user), StandardCharsets.UTF_8).toCharArray();
        byte[] hash = pbkdf2.generateSecret(new PBEKeySpec(password, salt, ${PBKDF2_ITERATIONS}, 256)).getEncoded();
        lines.append(user.getFileName()).append(':').append(${PBKDF2_ITERATIONS}).append(':')
            .append(hex.formatHex(salt)).append(':').append(hex.formatHex(hash)).append('\\n');
      }
      Files.writeString(Path.of(args[i + 1]), lines.toString());
      System.out.println("keelson: " + users.size() + " users of " + args[i] + " hashed into " + args[i + 1]);
    }
  }
}
`;

/** What the coordinator's pod gets for its authentication classes. */
export interface TrinoAuthentication {
  /** config.properties settings. */
  readonly properties: Record<string, string>;
  /** Files of the role group's ConfigMap (the authenticators' files, the hashing program). */
  readonly files: Record<string, string>;
  /** Environment of the coordinator's container (the LDAP bind credentials, from their Secrets). */
  readonly env: EnvVar[];
  readonly volumes: Volume[];
  /** Mounts of the coordinator's container. */
  readonly mounts: VolumeMount[];
  readonly initContainers: Container[];
  /**
   * TlsClasses whose CAs the coordinator mounts as a client's trust (an LDAP server's, an OpenID
   * provider's, and the CAs of a tls class's client certificates).
   */
  readonly trustedTlsClasses: string[];
}

function ldapProperties(info: AuthenticationClassInfo): Record<string, string> {
  const ldap = info.spec.ldap!;
  const userFilter = ldapUserFilter(ldap, USER_PLACEHOLDER);
  const bound = ldap.bindCredentialsSecretName !== undefined;
  return {
    'password-authenticator.name': 'ldap',
    'ldap.url': ldapUrl(ldap),
    ...(ldap.tls
      ? { 'ldap.ssl.truststore.path': tlsTrustFile(ldap.tls.tlsClass) }
      : { 'ldap.allow-insecure': 'true' }),
    'ldap.user-base-dn': ldap.searchBase,
    ...(bound
      ? {
          // Trino searches searchBase for the one user the filter finds, as the bind DN, then binds as them.
          'ldap.bind-dn': `\${ENV:${bindEnv(info.name, 'DN')}}`,
          'ldap.bind-password': `\${ENV:${bindEnv(info.name, 'PASSWORD')}}`,
          'ldap.group-auth-pattern': userFilter,
        }
      : {
          // The user binds as <id attribute>=<name>,<searchBase>; the filter is then searched with their rights.
          'ldap.user-bind-pattern': `${ldapUserIdAttribute(ldap)}=${USER_PLACEHOLDER},${ldap.searchBase}`,
          ...(ldap.searchFilter ? { 'ldap.group-auth-pattern': userFilter } : {}),
        }),
  };
}

function ldapEnv(info: AuthenticationClassInfo): EnvVar[] {
  const secret = info.spec.ldap!.bindCredentialsSecretName;
  if (secret === undefined) return [];
  const from = (key: string) => ({ secretKeyRef: { name: secret, key } });
  return [
    { name: bindEnv(info.name, 'DN'), valueFrom: from(LDAP_BIND_CREDENTIAL_KEYS.user) },
    { name: bindEnv(info.name, 'PASSWORD'), valueFrom: from(LDAP_BIND_CREDENTIAL_KEYS.password) },
  ];
}

/**
 * The coordinator's authentication for `classes` (each `ldap`, `static`, `oidc` or `tls`; the
 * framework refused the others, TRINO.validate a second `oidc` or `tls`), `configDir` being where the role group's
 * ConfigMap is mounted. Nothing when the cluster names no class.
 */
export function trinoAuthentication(
  classes: readonly AuthenticationClassInfo[],
  configDir: string,
): TrinoAuthentication {
  const result: TrinoAuthentication = {
    properties: {},
    files: {},
    env: [],
    volumes: [],
    mounts: [],
    initContainers: [],
    trustedTlsClasses: [],
  };
  if (classes.length === 0) return result;
  const passwords = classes.filter((c) => PASSWORD_PROVIDERS.includes(c.provider));
  const oidc = classes.find((c) => c.provider === 'oidc');
  const certificates = classes.find((c) => c.provider === 'tls');
  const statics = classes.filter((c) => c.provider === 'static');
  for (const info of passwords) {
    const properties =
      info.provider === 'ldap'
        ? ldapProperties(info)
        : { 'password-authenticator.name': 'file', 'file.password-file': passwordFile(info.name) };
    result.files[passwordAuthenticatorFile(info.name)] = renderProperties(properties);
    result.env.push(...(info.provider === 'ldap' ? ldapEnv(info) : []));
  }
  for (const info of classes) {
    const tlsClass =
      info.spec.ldap?.tls?.tlsClass ?? info.spec.oidc?.tls?.tlsClass ?? info.spec.tls?.tlsClass;
    if (tlsClass) result.trustedTlsClasses.push(tlsClass);
  }
  result.properties['http-server.authentication.type'] = [
    ...(certificates ? ['CERTIFICATE'] : []),
    ...(passwords.length > 0 ? ['PASSWORD'] : []),
    ...(oidc ? ['OAUTH2'] : []),
  ].join(',');
  if (passwords.length > 0)
    result.properties['password-authenticator.config-files'] = passwords
      .map((c) => `${configDir}/${passwordAuthenticatorFile(c.name)}`)
      .join(',');
  if (certificates) Object.assign(result.properties, certificateProperties(certificates));
  if (oidc) {
    Object.assign(result.properties, oidcProperties(oidc));
    result.env.push(...oidcEnv(oidc));
  }
  if (statics.length === 0) return result;

  // The static classes' users: each Secret mounted into the hashing init container only.
  const users = statics.map((info, i) => ({
    info,
    volume: `auth-users-${i}`,
    dir: `${USERS_DIR}/${info.name}`,
  }));
  result.files[HASH_PASSWORDS_FILE] = HASH_PASSWORDS_PROGRAM;
  result.volumes.push(
    { name: PASSWORD_FILES_VOLUME, emptyDir: {} },
    ...users.map((u) => ({
      name: u.volume,
      // Owner (root) and the pod's fsGroup may read, as for certificates.
      secret: { secretName: u.info.spec.static!.userCredentialsSecretName, defaultMode: 0o440 },
    })),
  );
  result.mounts.push({ name: PASSWORD_FILES_VOLUME, mountPath: PASSWORD_FILES_DIR, readOnly: true });
  result.initContainers.push({
    name: 'hash-passwords',
    command: [
      'java',
      '-XX:-UsePerfData',
      '-XX:TieredStopAtLevel=1',
      '-Xmx64m',
      `${configDir}/${HASH_PASSWORDS_FILE}`,
      ...users.flatMap((u) => [u.dir, passwordFile(u.info.name)]),
    ],
    env: [{ name: 'HOME', value: '/tmp' }],
    resources: {
      requests: { cpu: '100m', memory: HASH_INIT_MEMORY },
      limits: { cpu: '1', memory: HASH_INIT_MEMORY },
    },
    volumeMounts: [
      { name: CONFIG_VOLUME, mountPath: configDir, readOnly: true },
      { name: PASSWORD_FILES_VOLUME, mountPath: PASSWORD_FILES_DIR },
      ...users.map((u) => ({ name: u.volume, mountPath: u.dir, readOnly: true })),
    ],
  });
  return result;
}
