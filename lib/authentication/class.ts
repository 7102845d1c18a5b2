/**
 * `AuthenticationClass`: a cluster-scoped kind that says how the users of a stacklet prove who they
 * are, with exactly one provider: `static` (users and passwords in a Secret), `ldap` (a directory
 * searched for the user, who then binds with the password), `oidc` (an OpenID Connect provider),
 * `tls` (client certificates signed by a TlsClass's CAs) or `kerberos` (a realm and its KDC).
 * Stacklets name classes in `spec.clusterConfig.authentication`; each product maps the providers
 * it supports onto its own settings (`ProductDefinition.authenticationProviders`) and refuses the
 * others. One TypeBox schema gives the TypeScript interface (`spec.generated.ts`), the CRD's schema
 * and CEL rules and the synth-time validation, as for `TlsClass` (lib/tls/class.ts).
 *
 * A class is cluster-wide but the Secrets it names are not: each is looked up in the namespace of
 * the stacklet that uses the class (pods can only mount Secrets of their own namespace), so every
 * namespace with such a stacklet holds its own copy. keelson never reads them: the pods do.
 */
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { Type } from '@sinclair/typebox';
import { DNS_SUBDOMAIN_MAX, DNS_SUBDOMAIN_SYNTAX } from '../naming';
import { AUTHENTICATION_CLASS_NAME, CLOSED, TLS_CLASS_NAME } from '../spec/common';
import { customResourceDefinition } from '../spec/crd';
import { defineRule, withRules, type SchemaValidation } from '../spec/rules';
import { specProblems, SpecValidationError } from '../spec/validate';
import { API_GROUP, API_VERSION } from '../stacklet/product';
import type { AuthenticationClassSpec } from './spec.generated';

export type {
  AuthenticationClassSpec,
  StaticProvider,
  LdapProvider,
  OidcProvider,
  TlsClientCertificateProvider,
  KerberosProvider,
  AuthenticationTls,
} from './spec.generated';

/** The custom resource kind of an authentication class. */
export const AUTHENTICATION_CLASS_KIND = 'AuthenticationClass';
/** Its plural, the CRD's name being `authenticationclasses.keelson.dev`. */
export const AUTHENTICATION_CLASS_PLURAL = 'authenticationclasses';

/** The providers an AuthenticationClass may have, one each. */
export const AUTHENTICATION_PROVIDERS = ['static', 'ldap', 'oidc', 'tls', 'kerberos'] as const;
export type AuthenticationProvider = (typeof AUTHENTICATION_PROVIDERS)[number];

/** The keys of an `ldap` class's bind credentials Secret. */
export const LDAP_BIND_CREDENTIAL_KEYS = { user: 'user', password: 'password' } as const;
/** The keys of an `oidc` class's client credentials Secret. */
/** The keys of a `kerberos` class's admin credentials Secret. */
export const KERBEROS_ADMIN_CREDENTIAL_KEYS = {
  principal: 'principal',
  password: 'password',
  keytab: 'keytab',
} as const;
/** The keys of an `oidc` class's client credentials Secret. */
export const OIDC_CLIENT_CREDENTIAL_KEYS = { clientId: 'clientId', clientSecret: 'clientSecret' } as const;

/** Defaults of the optional fields, as written in a spec. */
export const AUTHENTICATION_CLASS_DEFAULTS = {
  ldapPort: 389,
  ldapsPort: 636,
  ldapUserIdAttribute: 'uid',
  oidcScopes: ['openid', 'email', 'profile'],
  oidcPrincipalClaim: 'preferred_username',
  kdcPort: 88,
  kadminPort: 749,
} as const;

const secretName = (description: string) =>
  Type.String({
    pattern: DNS_SUBDOMAIN_SYNTAX,
    maxLength: DNS_SUBDOMAIN_MAX,
    description,
    'x-keelson-expected': 'a Secret name',
  });

/** A host name or IPv4 address (a DNS subdomain's syntax takes both). */
const hostName = (description: string) =>
  Type.String({
    pattern: DNS_SUBDOMAIN_SYNTAX,
    maxLength: DNS_SUBDOMAIN_MAX,
    description,
    'x-keelson-expected': "a host name (lower case letters, digits, '-' and '.')",
  });

const port = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });

/** TLS towards a server the product connects to (an LDAP server, an OpenID provider). */
const ServerTlsSchema = Type.Object(
  {
    tlsClass: Type.String({
      ...TLS_CLASS_NAME,
      description:
        "The TlsClass whose CAs (its ClusterTrustBundles) the server's certificate is verified against; the pods " +
        'mount them as a client (lib/tls tlsTrustVolumes).',
    }),
  },
  {
    ...CLOSED,
    description:
      'TLS towards the server: on, verifying its certificate against a TlsClass. @default - ldap: off (plain ' +
      "LDAP, passwords cross the network in clear); oidc: the CAs the product's image trusts",
  },
);

/** An LDAP filter: one parenthesized expression. */
const LDAP_FILTER_PATTERN = '^\\(.*\\)$';

/** An LDAP attribute name (a descriptor: a letter, then letters, digits and '-'). */
const LDAP_ATTRIBUTE_PATTERN = '^[A-Za-z][A-Za-z0-9-]*$';

/** A Kerberos realm as keelson takes it: upper case, as MIT and Active Directory write them. */
const REALM_PATTERN = '^[A-Z0-9]([-A-Z0-9.]*[A-Z0-9])?$';

const scopesIncludeOpenid = defineRule<{ scopes?: readonly string[] }>({
  cel: "!has(self.scopes) || self.scopes.exists(s, s == 'openid')",
  message:
    'must include "openid": without it the provider answers with no ID token, and so no principal claim',
  fieldPath: '.scopes',
  check: (self) => self.scopes === undefined || self.scopes.includes('openid'),
});

const exactlyOneProvider = defineRule<Partial<Record<AuthenticationProvider, unknown>>>({
  cel: `[${AUTHENTICATION_PROVIDERS.map((p) => `has(self.${p})`).join(', ')}].filter(p, p).size() == 1`,
  message: `exactly one provider must be given: ${AUTHENTICATION_PROVIDERS.join(' or ')}`,
  check: (self) => AUTHENTICATION_PROVIDERS.filter((p) => self[p] !== undefined).length === 1,
});

export const AuthenticationClassSpecSchema = Type.Object(
  {
    static: Type.Optional(
      Type.Object(
        {
          userCredentialsSecretName: secretName(
            'The Secret (in the namespace of each stacklet that uses the class) whose keys are user names and ' +
              'values their passwords. The products read it in their pods (Trino hashes it at start); no password ' +
              'is ever written into a ConfigMap.',
          ),
        },
        { ...CLOSED, description: 'Users and passwords kept in a Secret.' },
      ),
    ),
    ldap: Type.Optional(
      Type.Object(
        {
          host: hostName('The LDAP server.'),
          port: Type.Optional(
            port(
              `The LDAP server's port. @default ${AUTHENTICATION_CLASS_DEFAULTS.ldapsPort} with tls, ` +
                `${AUTHENTICATION_CLASS_DEFAULTS.ldapPort} without`,
            ),
          ),
          searchBase: Type.String({
            minLength: 1,
            maxLength: 1024,
            description: 'The DN below which users are looked up (`ou=people,dc=example,dc=org`).',
          }),
          searchFilter: Type.Optional(
            Type.String({
              pattern: LDAP_FILTER_PATTERN,
              maxLength: 1024,
              description:
                'An LDAP filter a user must also match to log in, such as a group membership ' +
                '(`(memberOf=cn=analysts,ou=groups,dc=example,dc=org)`): a user outside it is refused. ' +
                '@default - every user below searchBase',
              'x-keelson-expected': 'an LDAP filter in parentheses, such as (objectClass=person)',
            }),
          ),
          userIdAttribute: Type.Optional(
            Type.String({
              pattern: LDAP_ATTRIBUTE_PATTERN,
              maxLength: 128,
              description: `The attribute holding the name a user logs in with. @default "${AUTHENTICATION_CLASS_DEFAULTS.ldapUserIdAttribute}"`,
              'x-keelson-expected': 'an LDAP attribute name such as uid or sAMAccountName',
            }),
          ),
          bindCredentialsSecretName: Type.Optional(
            secretName(
              'The Secret (in the namespace of each stacklet that uses the class) with the DN (key `user`) and ' +
                'password (key `password`) the product binds with to search for users; the user found then binds ' +
                'with the password given at login. Mounted or passed as environment in the pods only, never ' +
                'written into a ConfigMap. @default - no search: the user binds directly as ' +
                '<userIdAttribute>=<name>,<searchBase> (and searchFilter is checked with their own rights)',
            ),
          ),
          tls: Type.Optional(ServerTlsSchema),
        },
        {
          ...CLOSED,
          description:
            'Users of an LDAP directory: looked up below searchBase, then bound with their password.',
        },
      ),
    ),
    oidc: Type.Optional(
      Type.Object(
        {
          issuer: Type.String({
            pattern: '^https?://[^\\s/]+(/[^\\s]*)?$',
            maxLength: 2048,
            description:
              "The provider's issuer URL (its discovery document is `<issuer>/.well-known/openid-configuration`).",
            'x-keelson-expected': 'an http(s) URL such as https://keycloak.example.org/realms/data',
          }),
          clientCredentialsSecretName: secretName(
            'The Secret (in the namespace of each stacklet that uses the class) with the client id (key ' +
              '`clientId`) and secret (key `clientSecret`) registered at the provider.',
          ),
          scopes: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
              maxItems: 32,
              description: `The scopes asked for; must include openid. @default ${JSON.stringify(AUTHENTICATION_CLASS_DEFAULTS.oidcScopes)}`,
            }),
          ),
          principalClaim: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 256,
              description: `The ID token claim that names the user. @default "${AUTHENTICATION_CLASS_DEFAULTS.oidcPrincipalClaim}"`,
            }),
          ),
          tls: Type.Optional(ServerTlsSchema),
        },
        {
          ...CLOSED,
          ...withRules(scopesIncludeOpenid),
          description: 'Users of an OpenID Connect provider (the product is its client).',
        },
      ),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          tlsClass: Type.String({
            ...TLS_CLASS_NAME,
            description:
              'The TlsClass whose CAs sign the client certificates accepted; the user is named by the ' +
              "certificate's subject. Needs the stacklet's server TLS on.",
          }),
        },
        {
          ...CLOSED,
          description: 'Clients prove who they are with a certificate (mutual TLS).',
        },
      ),
    ),
    kerberos: Type.Optional(
      Type.Object(
        {
          realm: Type.String({
            pattern: REALM_PATTERN,
            maxLength: 253,
            description: 'The Kerberos realm (`EXAMPLE.ORG`).',
            'x-keelson-expected': "a realm in upper case letters, digits, '-' and '.'",
          }),
          kdc: hostName("The realm's KDC."),
          kdcPort: Type.Optional(port(`The KDC's port. @default ${AUTHENTICATION_CLASS_DEFAULTS.kdcPort}`)),
          adminServer: Type.Optional(
            hostName("The realm's admin server (kadmind). @default - the KDC's host"),
          ),
          adminServerPort: Type.Optional(
            port(`The admin server's port. @default ${AUTHENTICATION_CLASS_DEFAULTS.kadminPort}`),
          ),
          adminCredentialsSecretName: secretName(
            'The Secret (in the namespace of each stacklet that uses the class) holding the principal (key ' +
              '`principal`) keelson creates pod principals with, and its password (key `password`) or keytab (key ' +
              "`keytab`, used when both are given). Only the init container that writes a pod's keytab mounts it; " +
              'the principal needs the add, inquire and change-password (`ktadd`) rights on the pod principals.',
          ),
        },
        {
          ...CLOSED,
          description:
            'Kerberos principals of a realm: keelson renders krb5.conf from it, and each pod gets its own principal ' +
            '`<service>/<pod DNS name>@<realm>` in a keytab its init container writes into memory (never a ConfigMap ' +
            'or Secret keelson writes).',
        },
      ),
    ),
  },
  {
    ...CLOSED,
    ...withRules(exactlyOneProvider),
    description: 'How the users of stacklets naming this class prove who they are: exactly one provider.',
  },
);

/** The CRD's rule on the whole resource: its name is what stacklets name. */
export const AUTHENTICATION_CLASS_NAME_RULE: SchemaValidation = {
  rule: `self.metadata.name.matches('${AUTHENTICATION_CLASS_NAME.pattern}')`,
  message:
    'metadata.name must be a DNS label (at most 63 lower case letters, digits and "-"): stacklets name it in ' +
    'clusterConfig.authentication, and products use it in file and volume names',
};

/** The `AuthenticationClass` CRD (`authenticationclasses.keelson.dev`, cluster-scoped). */
export function authenticationClassCrd(): Record<string, unknown> {
  return customResourceDefinition({
    group: API_GROUP,
    version: API_VERSION,
    kind: AUTHENTICATION_CLASS_KIND,
    plural: AUTHENTICATION_CLASS_PLURAL,
    scope: 'Cluster',
    description: 'How the users of keelson stacklets naming this class prove who they are.',
    specSchema: AuthenticationClassSpecSchema,
    specRequired: true,
    resourceRules: [AUTHENTICATION_CLASS_NAME_RULE],
    printerColumns: [
      { name: 'LDAP', type: 'string', jsonPath: '.spec.ldap.host' },
      { name: 'OIDC', type: 'string', jsonPath: '.spec.oidc.issuer' },
      { name: 'Realm', type: 'string', jsonPath: '.spec.kerberos.realm' },
    ],
  });
}

/** What a stacklet needs to know of an AuthenticationClass: its name, provider and spec. */
export interface AuthenticationClassInfo {
  readonly name: string;
  readonly provider: AuthenticationProvider;
  readonly spec: AuthenticationClassSpec;
}

/** True when `name` may name an AuthenticationClass. */
export function isAuthenticationClassName(name: string): boolean {
  return (
    name.length <= AUTHENTICATION_CLASS_NAME.maxLength &&
    new RegExp(AUTHENTICATION_CLASS_NAME.pattern).test(name)
  );
}

/**
 * Every problem of a class named `name` with `spec`, each starting with its path, in the API
 * server's words: the schema, the CEL rules and the rule on the name.
 */
export function authenticationClassProblems(name: string, spec: unknown): string[] {
  return [
    ...(isAuthenticationClassName(name)
      ? []
      : [`metadata.name: ${JSON.stringify(name)}: ${AUTHENTICATION_CLASS_NAME_RULE.message}`]),
    ...specProblems(AuthenticationClassSpecSchema, spec),
  ];
}

/** The provider of a valid spec (validate it first: `authenticationClassProblems`). */
export function authenticationProviderOf(spec: AuthenticationClassSpec): AuthenticationProvider {
  const provider = AUTHENTICATION_PROVIDERS.find((p) => spec[p] !== undefined);
  if (!provider) throw new Error(exactlyOneProvider.message);
  return provider;
}

/**
 * An AuthenticationClass resource as stacklets see it, or undefined for a spec that is not valid
 * (which the API server's schema keeps out; a stacklet treats such a class as missing).
 */
export function authenticationClassInfoOf(name: string, spec: unknown): AuthenticationClassInfo | undefined {
  if (authenticationClassProblems(name, spec).length > 0) return undefined;
  const valid = spec as AuthenticationClassSpec;
  return { name, provider: authenticationProviderOf(valid), spec: valid };
}

// The AuthenticationClasses of each app, by its root construct (as for TlsClasses: a stacklet looks
// its classes up here rather than walking the whole tree).
const classesByApp = new WeakMap<IConstruct, AuthenticationClassInfo[]>();

/** Called by an AuthenticationClass construct: stacklets defined after it in the same app see the class. */
export function registerAuthenticationClass(scope: IConstruct, info: AuthenticationClassInfo): void {
  const root = scope.node.root;
  classesByApp.set(root, [...(classesByApp.get(root) ?? []), info]);
}

/** The AuthenticationClasses registered in the app `scope` belongs to. */
export function authenticationClassesIn(scope: IConstruct): readonly AuthenticationClassInfo[] {
  return classesByApp.get(scope.node.root) ?? [];
}

const AUTHENTICATION_CLASS_SYMBOL = Symbol.for('keelson.AuthenticationClass');

/**
 * An authentication class in synth mode: it writes the `AuthenticationClass` custom resource
 * (named by `id`); stacklets defined after it in the same app that name it get their logins from
 * it. An invalid spec writes nothing and is reported at synth with every other problem.
 */
export class AuthenticationClass extends Construct {
  /** True for an AuthenticationClass from any copy of this package. */
  public static isAuthenticationClass(x: unknown): x is AuthenticationClass {
    return x !== null && typeof x === 'object' && AUTHENTICATION_CLASS_SYMBOL in x;
  }

  /** The class's name: `metadata.name` of the custom resource. */
  public readonly name: string;
  /** The spec as given. */
  public readonly spec: AuthenticationClassSpec;
  /** The provider, for a valid class. */
  public readonly provider?: AuthenticationProvider;
  /** Why the spec was rejected, one line each; empty for a valid class. */
  public readonly problems: readonly string[];
  /** The custom resource, unless the spec was rejected. */
  public readonly apiObject?: ApiObject;

  constructor(scope: Construct, id: string, props: AuthenticationClassSpec) {
    super(scope, id);
    Object.defineProperty(this, AUTHENTICATION_CLASS_SYMBOL, { value: true });
    this.name = id;
    this.spec = props;
    const problems = authenticationClassProblems(id, props);
    if (authenticationClassesIn(this).some((c) => c.name === id)) {
      problems.push(
        `metadata.name: another AuthenticationClass is named "${id}" in this app; a class is cluster-wide`,
      );
    }
    this.problems = problems;
    if (problems.length > 0) {
      const error = new SpecValidationError(`${AUTHENTICATION_CLASS_KIND} "${id}"`, problems);
      this.node.addValidation({
        validate: () => error.problems.map((p) => `${AUTHENTICATION_CLASS_KIND} "${id}": ${p}`),
      });
      return;
    }
    this.provider = authenticationProviderOf(props);
    registerAuthenticationClass(this, { name: id, provider: this.provider, spec: props });
    this.apiObject = new ApiObject(this, 'resource', {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: AUTHENTICATION_CLASS_KIND,
      metadata: { name: id },
      spec: props,
    });
    // Cluster-scoped: a chart's namespace, which cdk8s gives every object, does not apply.
    if (Chart.of(this).namespace) this.apiObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}
