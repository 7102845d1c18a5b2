/**
 * How a stacklet's `spec.clusterConfig.authentication` is resolved, the same way for every
 * product: each named class must exist and be of a provider the product declares
 * (`ProductDefinition.authenticationProviders`); the product gets the classes, in the spec's order,
 * in `StackletContext.authentication` and maps them onto its own settings. A product that declares
 * none refuses the field whenever it names a class. And helpers every product mapping a provider
 * shares (the LDAP URL and user filter, the TlsClasses whose CAs the pods must trust).
 */
import type { AuthenticationClassReference } from '../spec/common';
import {
  AUTHENTICATION_CLASS_DEFAULTS,
  AUTHENTICATION_PROVIDERS,
  type AuthenticationClassInfo,
  type AuthenticationProvider,
  type LdapProvider,
} from './class';

/** The spec path of the shared field. */
export const AUTHENTICATION_PATH = 'spec.clusterConfig.authentication';

/** What the resolution needs to know of the product. */
export interface AuthenticationSupport {
  /** The custom resource kind, for messages (`TrinoCluster`). */
  readonly kind: string;
  /** The providers the product maps. @default - none */
  readonly authenticationProviders?: readonly AuthenticationProvider[];
}

/**
 * The classes `references` names, in order, and one problem (at the field naming it) for each
 * class that does not exist or whose provider the product does not support; for a product that
 * supports none, one problem at the field.
 */
export function resolveStackletAuthentication(
  references: readonly AuthenticationClassReference[] | undefined,
  classes: readonly AuthenticationClassInfo[],
  product: AuthenticationSupport,
): { authentication: AuthenticationClassInfo[]; problems: string[] } {
  const named = references ?? [];
  if (named.length === 0) return { authentication: [], problems: [] };
  const supported = product.authenticationProviders ?? [];
  if (supported.length === 0) {
    return {
      authentication: [],
      problems: [
        `${AUTHENTICATION_PATH}: ${product.kind} supports no AuthenticationClass yet (none of ` +
          `${AUTHENTICATION_PROVIDERS.join(', ')} is mapped onto its settings); remove the field`,
      ],
    };
  }
  const problems: string[] = [];
  const authentication: AuthenticationClassInfo[] = [];
  named.forEach((reference, i) => {
    const path = `${AUTHENTICATION_PATH}[${i}].authenticationClass`;
    const found = classes.find((c) => c.name === reference.authenticationClass);
    if (!found) {
      problems.push(
        `${path}: the AuthenticationClass "${reference.authenticationClass}" does not exist; create it (operator ` +
          'mode) or define an AuthenticationClass construct of that name before this stacklet (synth mode)',
      );
      return;
    }
    if (!supported.includes(found.provider)) {
      problems.push(
        `${path}: the AuthenticationClass "${found.name}" has the ${found.provider} provider, which ` +
          `${product.kind} does not support; it supports ${supported.join(', ')}`,
      );
      return;
    }
    authentication.push(found);
  });
  return { authentication, problems };
}

/** The port of an LDAP server: the class's, else 636 with TLS and 389 without. */
export function ldapPort(ldap: LdapProvider): number {
  return (
    ldap.port ?? (ldap.tls ? AUTHENTICATION_CLASS_DEFAULTS.ldapsPort : AUTHENTICATION_CLASS_DEFAULTS.ldapPort)
  );
}

/** `ldaps://host:port` with TLS, `ldap://host:port` without. */
export function ldapUrl(ldap: LdapProvider): string {
  return `${ldap.tls ? 'ldaps' : 'ldap'}://${ldap.host}:${ldapPort(ldap)}`;
}

/** The attribute a user's login name is in. */
export function ldapUserIdAttribute(ldap: LdapProvider): string {
  return ldap.userIdAttribute ?? AUTHENTICATION_CLASS_DEFAULTS.ldapUserIdAttribute;
}

/**
 * The filter that finds the user logging in: their id attribute equal to `placeholder` (what the
 * product replaces with the login name: Trino's `${USER}`), and the class's filter when it has one.
 */
export function ldapUserFilter(ldap: LdapProvider, placeholder: string): string {
  const user = `(${ldapUserIdAttribute(ldap)}=${placeholder})`;
  return ldap.searchFilter ? `(&${user}${ldap.searchFilter})` : user;
}

/**
 * The TlsClasses whose CAs the pods must trust to reach the classes' servers (an LDAP server's, an
 * OpenID provider's), for lib/tls `tlsTrustVolumes`.
 */
export function authenticationTrustClasses(classes: readonly AuthenticationClassInfo[]): string[] {
  return classes.flatMap((c) => {
    const tlsClass = c.spec.ldap?.tls?.tlsClass ?? c.spec.oidc?.tls?.tlsClass;
    return tlsClass ? [tlsClass] : [];
  });
}
