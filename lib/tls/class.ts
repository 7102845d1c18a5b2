/**
 * `TlsClass`: a cluster-scoped kind that says where the certificates of a class come from. Its
 * name is what stacklets name in `spec.clusterConfig.tls` and what the keelson operator signs as
 * (`keelson.dev/<name>`). One TypeBox schema gives the TypeScript interface (`spec.generated.ts`),
 * the CRD's schema and CEL rules, and the synth-time validation, as for every product's spec.
 */
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { Type } from '@sinclair/typebox';
import { parseDurationSeconds } from '../duration';
import { DNS_SUBDOMAIN_MAX, DNS_SUBDOMAIN_SYNTAX } from '../naming';
import { CLOSED, DNS_LABEL_PATTERN, Duration, DURATION_PATTERN, TLS_CLASS_NAME } from '../spec/common';
import { customResourceDefinition } from '../spec/crd';
import { defineRule, withRules, type SchemaValidation } from '../spec/rules';
import { specProblems, SpecValidationError } from '../spec/validate';
import { API_GROUP, API_VERSION } from '../stacklet/product';
import { MIN_REFRESH_AFTER_SECONDS } from './certificates';
import { isTlsClassName, registerTlsClass, tlsClassesIn, tlsSignerName, type TlsClassInfo } from './pod-tls';
import type { CertManagerIssuerRef, TlsClassSpec } from './spec.generated';
import { listenerClassCrd } from '../listener/class';
import { authenticationClassCrd } from '../authentication/class';

export type {
  TlsClassSpec,
  KeelsonCaProvider,
  SecretCaProvider,
  CertManagerProvider,
  CertManagerIssuerRef,
} from './spec.generated';

/** The custom resource kind of a TLS class. */
export const TLS_CLASS_KIND = 'TlsClass';
/** Its plural, the CRD's name being `tlsclasses.keelson.dev`. */
export const TLS_CLASS_PLURAL = 'tlsclasses';

/** Defaults of the duration fields, as written in a spec. */
export const TLS_CLASS_DEFAULTS = {
  certificateLifetime: '24h',
  caLifetime: '8760h',
  caRotationOverlap: '168h',
} as const;

/** The bounds the API server puts on a pod certificate's lifetime (`maxExpirationSeconds`). */
export const POD_CERTIFICATE_LIFETIME_SECONDS = { min: 3600, max: 7_862_400 } as const;

/** Seconds of a duration field, its default when unset, undefined when it is no duration. */
function seconds(value: string | undefined, fallback: string): number | undefined {
  return parseDurationSeconds(value ?? fallback);
}

type DurationField = keyof typeof TLS_CLASS_DEFAULTS;

/** CEL: the field's duration, or its default when unset. */
const celDuration = (field: DurationField) =>
  `duration(has(self.${field}) ? self.${field} : '${TLS_CLASS_DEFAULTS[field]}')`;

/**
 * CEL: a rule over duration fields that holds while one of them is no duration. The pattern
 * reports such a value; without the guard the API server would add a type conversion error of the
 * rule, which synth (whose checks skip what they cannot read) does not report.
 */
const whenDurations = (fields: readonly string[], rule: string) =>
  `!(${fields.map((f) => `(!has(self.${f}) || self.${f}.matches(${JSON.stringify(DURATION_PATTERN)}))`).join(' && ')}) || ${rule}`;

const certificateLifetimeInRange = defineRule<{ certificateLifetime?: string }>({
  cel: whenDurations(
    ['certificateLifetime'],
    `(${celDuration('certificateLifetime')} >= duration('1h') && ${celDuration('certificateLifetime')} <= duration('2184h'))`,
  ),
  message:
    'must be between 1h and 2184h (91 days): the API server refuses pod certificates outside that range',
  fieldPath: '.certificateLifetime',
  check: (self) => {
    const s = seconds(self.certificateLifetime, TLS_CLASS_DEFAULTS.certificateLifetime);
    return (
      s === undefined ||
      (s >= POD_CERTIFICATE_LIFETIME_SECONDS.min && s <= POD_CERTIFICATE_LIFETIME_SECONDS.max)
    );
  },
});

/** The duration fields of the providers keelson signs for, as the rules read them. */
interface KeelsonCaFields {
  certificateLifetime?: string;
  certificateRefreshAfter?: string;
  caLifetime?: string;
  caRotationOverlap?: string;
}

/** What `certificateRefreshAfter` may be: from 6 minutes to the lifetime less this. */
export const REFRESH_BEFORE_END_SECONDS = 15 * 60;

const refreshWithinLifetime = defineRule<{ certificateLifetime?: string; certificateRefreshAfter?: string }>({
  cel: whenDurations(
    ['certificateRefreshAfter', 'certificateLifetime'],
    `!has(self.certificateRefreshAfter) || (duration(self.certificateRefreshAfter) >= duration('${MIN_REFRESH_AFTER_SECONDS}s') && ` +
      `duration(self.certificateRefreshAfter) <= ${celDuration('certificateLifetime')} - duration('${REFRESH_BEFORE_END_SECONDS}s'))`,
  ),
  message:
    `must be at least 6m and at most certificateLifetime minus 15m (default ${TLS_CLASS_DEFAULTS.certificateLifetime}): ` +
    'the API server wants the refresh at least 10m after a pod certificate begins, which keelson back-dates by at most 4m, and 10m before it ends',
  fieldPath: '.certificateRefreshAfter',
  check: (self) => {
    if (self.certificateRefreshAfter === undefined) return true;
    const after = parseDurationSeconds(self.certificateRefreshAfter);
    const lifetime = seconds(self.certificateLifetime, TLS_CLASS_DEFAULTS.certificateLifetime);
    return (
      after === undefined ||
      lifetime === undefined ||
      (after >= MIN_REFRESH_AFTER_SECONDS && after <= lifetime - REFRESH_BEFORE_END_SECONDS)
    );
  },
});

const overlapCoversCertificates = defineRule<{ certificateLifetime?: string; caRotationOverlap?: string }>({
  cel: whenDurations(
    ['caRotationOverlap', 'certificateLifetime'],
    `${celDuration('caRotationOverlap')} >= ${celDuration('certificateLifetime')}`,
  ),
  message: `must be at least certificateLifetime (defaults ${TLS_CLASS_DEFAULTS.caRotationOverlap} and ${TLS_CLASS_DEFAULTS.certificateLifetime}): certificates of the old CA must expire while it is still trusted`,
  fieldPath: '.caRotationOverlap',
  check: (self) => {
    const overlap = seconds(self.caRotationOverlap, TLS_CLASS_DEFAULTS.caRotationOverlap);
    const lifetime = seconds(self.certificateLifetime, TLS_CLASS_DEFAULTS.certificateLifetime);
    return overlap === undefined || lifetime === undefined || overlap >= lifetime;
  },
});

const caOutlivesOverlap = defineRule<{ caLifetime?: string; caRotationOverlap?: string }>({
  cel: whenDurations(
    ['caLifetime', 'caRotationOverlap'],
    `${celDuration('caLifetime')} - ${celDuration('caRotationOverlap')} >= ${celDuration('caRotationOverlap')}`,
  ),
  message: `must be at least twice caRotationOverlap (defaults ${TLS_CLASS_DEFAULTS.caLifetime} and ${TLS_CLASS_DEFAULTS.caRotationOverlap}), so that a CA signs alone before its successor overlaps it`,
  fieldPath: '.caLifetime',
  check: (self) => {
    const ca = seconds(self.caLifetime, TLS_CLASS_DEFAULTS.caLifetime);
    const overlap = seconds(self.caRotationOverlap, TLS_CLASS_DEFAULTS.caRotationOverlap);
    return ca === undefined || overlap === undefined || ca >= 2 * overlap;
  },
});

/** The lifetime bounds of a cert-manager certificate: cert-manager refuses a `duration` under 1h. */
export const CERT_MANAGER_MIN_LIFETIME_SECONDS = 3600;

const certManagerLifetimeInRange = defineRule<{ certificateLifetime?: string }>({
  cel: whenDurations(['certificateLifetime'], `${celDuration('certificateLifetime')} >= duration('1h')`),
  message: 'must be at least 1h: cert-manager refuses shorter certificates',
  fieldPath: '.certificateLifetime',
  check: (self) => {
    const s = seconds(self.certificateLifetime, TLS_CLASS_DEFAULTS.certificateLifetime);
    return s === undefined || s >= CERT_MANAGER_MIN_LIFETIME_SECONDS;
  },
});

const PROVIDERS = ['keelsonCa', 'secretCa', 'certManager'] as const;

const exactlyOneProvider = defineRule<Partial<Record<(typeof PROVIDERS)[number], unknown>>>({
  cel: `[${PROVIDERS.map((p) => `has(self.${p})`).join(', ')}].filter(p, p).size() == 1`,
  message: `exactly one provider must be given: ${PROVIDERS.join(' or ')}`,
  check: (self) => PROVIDERS.filter((p) => self[p] !== undefined).length === 1,
});

const certificateLifetime = Duration(
  'How long each pod certificate is valid (`notAfter - notBefore`), between 1h and 2184h (91 days), ' +
    'the bounds the API server puts on pod certificates; the kubelet renews them before they expire. ' +
    `@default "${TLS_CLASS_DEFAULTS.certificateLifetime}"`,
);

const certificateRefreshAfter = Duration(
  'How long after a pod certificate is issued the kubelet begins to ask for its successor (the ' +
    "certificate's `beginRefreshAt`): at least 6m, at most certificateLifetime minus 15m. The kubelet adds " +
    'up to 5 minutes of its own jitter and looks every one to two minutes; a product that reloads its ' +
    'certificate picks up the new one, the operator restarts one that does not before the old one expires. ' +
    'Below 10m, keelson dates the certificate up to 4 minutes back (the API server measures the refresh ' +
    'from `notBefore`). @default - two thirds into certificateLifetime (16h of 24h)',
);

export const TlsClassSpecSchema = Type.Object(
  {
    keelsonCa: Type.Optional(
      Type.Object(
        {
          certificateLifetime: Type.Optional(certificateLifetime),
          certificateRefreshAfter: Type.Optional(certificateRefreshAfter),
          caLifetime: Type.Optional(
            Duration(
              `How long each CA the operator makes is valid. @default "${TLS_CLASS_DEFAULTS.caLifetime}"`,
            ),
          ),
          caRotationOverlap: Type.Optional(
            Duration(
              'How long before a CA expires the operator makes its successor: both are trusted for this ' +
                'long, so no client loses trust mid-rotation. At least certificateLifetime, at most half ' +
                `of caLifetime. @default "${TLS_CLASS_DEFAULTS.caRotationOverlap}"`,
            ),
          ),
        },
        {
          ...CLOSED,
          ...withRules<KeelsonCaFields>(
            certificateLifetimeInRange,
            refreshWithinLifetime,
            overlapCoversCertificates,
            caOutlivesOverlap,
          ),
          description:
            "A CA the keelson operator makes and keeps (its key in a Secret of the operator's namespace, " +
            'never logged or shown) and rotates with an overlap.',
        },
      ),
    ),
    secretCa: Type.Optional(
      Type.Object(
        {
          secretName: Type.String({
            pattern: DNS_SUBDOMAIN_SYNTAX,
            maxLength: DNS_SUBDOMAIN_MAX,
            description:
              'The Secret holding the CA: `ca.crt` (PEM certificates) and `ca.key` (PEM private key), or ' +
              '`tls.crt` and `tls.key` when it has no `ca.key`. The keelson operator must be allowed to get ' +
              'it (`keelson deploy --ca-secret <namespace>/<name>`).',
            'x-keelson-expected': 'a Secret name',
          }),
          secretNamespace: Type.String({
            pattern: DNS_LABEL_PATTERN,
            maxLength: 63,
            description: "The Secret's namespace.",
            'x-keelson-expected': 'a namespace name',
          }),
          certificateLifetime: Type.Optional(certificateLifetime),
          certificateRefreshAfter: Type.Optional(certificateRefreshAfter),
        },
        {
          ...CLOSED,
          ...withRules<KeelsonCaFields>(certificateLifetimeInRange, refreshWithinLifetime),
          description:
            'A CA the user keeps in a Secret; the keelson operator reads it each time it signs, signs with ' +
            'the certificate whose key the Secret holds, trusts every CA certificate in it, and never ' +
            'writes or rotates it.',
        },
      ),
    ),
    certManager: Type.Optional(
      Type.Object(
        {
          issuerRef: Type.Object(
            {
              name: Type.String({
                pattern: DNS_SUBDOMAIN_SYNTAX,
                maxLength: DNS_SUBDOMAIN_MAX,
                description:
                  "The issuer's name. An `Issuer` must live in each stacklet's namespace; a `ClusterIssuer` serves every namespace.",
                'x-keelson-expected': 'an Issuer or ClusterIssuer name',
              }),
              kind: Type.Union([Type.Literal('Issuer'), Type.Literal('ClusterIssuer')], {
                description: 'The kind of the issuer.',
              }),
              group: Type.Optional(
                Type.String({
                  pattern: DNS_SUBDOMAIN_SYNTAX,
                  maxLength: DNS_SUBDOMAIN_MAX,
                  description:
                    "The issuer's API group, for issuers outside cert-manager (external issuers). " +
                    '@default "cert-manager.io"',
                  'x-keelson-expected': 'an API group',
                }),
              ),
            },
            {
              ...CLOSED,
              description:
                'The cert-manager issuer that signs the certificates (`spec.issuerRef` of each Certificate). ' +
                'It must fill `ca.crt` in the Secrets it writes (the CA, Vault and self-signed issuers do).',
            },
          ),
          certificateLifetime: Type.Optional(
            Duration(
              'How long each certificate is valid (`spec.duration` of its Certificate), at least 1h; cert-manager ' +
                `renews it when two thirds of it have passed. @default "${TLS_CLASS_DEFAULTS.certificateLifetime}"`,
            ),
          ),
        },
        {
          ...CLOSED,
          ...withRules(certManagerLifetimeInRange),
          description:
            'Certificates from cert-manager (which must run in the cluster): keelson writes one cert-manager ' +
            '`Certificate` per role group and use, and the pods mount the Secret cert-manager fills. Needs no ' +
            'keelson operator and no Pod Certificates, so it serves synth mode and clusters older than 1.35.',
        },
      ),
    ),
  },
  {
    ...CLOSED,
    ...withRules(exactlyOneProvider),
    description: 'Where the certificates of this class come from: exactly one provider.',
  },
);

/** The CRD's rule on the whole resource: its name (`TLS_CLASS_NAME`) becomes a label value and a signer name. */
export const TLS_CLASS_NAME_RULE: SchemaValidation = {
  rule: `self.metadata.name.matches('${TLS_CLASS_NAME.pattern}')`,
  message:
    'metadata.name must be a DNS label (at most 63 lower case letters, digits and "-"): it is the ' +
    'signer name keelson.dev/<name> and the label keelson.dev/tls-class=<name>',
};

/** The `TlsClass` CRD (`tlsclasses.keelson.dev`, cluster-scoped). */
export function tlsClassCrd(): Record<string, unknown> {
  return customResourceDefinition({
    group: API_GROUP,
    version: API_VERSION,
    kind: TLS_CLASS_KIND,
    plural: TLS_CLASS_PLURAL,
    scope: 'Cluster',
    description: 'Where the TLS certificates of keelson stacklets naming this class come from.',
    specSchema: TlsClassSpecSchema,
    specRequired: true,
    resourceRules: [TLS_CLASS_NAME_RULE],
    printerColumns: [
      { name: 'Available', type: 'string', jsonPath: '.status.conditions[?(@.type=="Available")].status' },
    ],
  });
}

/** The CRDs of the framework's own kinds, which every keelson operator serves beside its products'. */
export function frameworkCrds(): Record<string, unknown>[] {
  return [tlsClassCrd(), listenerClassCrd(), authenticationClassCrd()];
}

/** A `TlsClass` spec with its defaults filled in, as the operator uses it. */
export type ResolvedTlsClass =
  | {
      readonly provider: 'keelsonCa';
      readonly certificateLifetimeSeconds: number;
      /** Seconds from issue to the kubelet's refresh; undefined: two thirds into the lifetime. */
      readonly certificateRefreshAfterSeconds?: number;
      readonly caLifetimeSeconds: number;
      readonly caRotationOverlapSeconds: number;
    }
  | {
      readonly provider: 'secretCa';
      readonly certificateLifetimeSeconds: number;
      readonly certificateRefreshAfterSeconds?: number;
      readonly secretName: string;
      readonly secretNamespace: string;
    }
  | {
      readonly provider: 'certManager';
      readonly certificateLifetimeSeconds: number;
      readonly issuerRef: CertManagerIssuerRef;
    };

/** Fills in the defaults of a valid spec (validate it first: `tlsClassProblems`). */
export function resolveTlsClass(spec: TlsClassSpec): ResolvedTlsClass {
  const duration = (value: string | undefined, fallback: string) => {
    const s = seconds(value, fallback);
    if (s === undefined) throw new Error(`${JSON.stringify(value)} is not a duration`);
    return Math.round(s);
  };
  const refreshAfter = (value: string | undefined) =>
    value === undefined ? {} : { certificateRefreshAfterSeconds: duration(value, value) };
  if (spec.keelsonCa) {
    const ca = spec.keelsonCa;
    return {
      provider: 'keelsonCa',
      certificateLifetimeSeconds: duration(ca.certificateLifetime, TLS_CLASS_DEFAULTS.certificateLifetime),
      ...refreshAfter(ca.certificateRefreshAfter),
      caLifetimeSeconds: duration(ca.caLifetime, TLS_CLASS_DEFAULTS.caLifetime),
      caRotationOverlapSeconds: duration(ca.caRotationOverlap, TLS_CLASS_DEFAULTS.caRotationOverlap),
    };
  }
  if (spec.secretCa) {
    return {
      provider: 'secretCa',
      certificateLifetimeSeconds: duration(
        spec.secretCa.certificateLifetime,
        TLS_CLASS_DEFAULTS.certificateLifetime,
      ),
      ...refreshAfter(spec.secretCa.certificateRefreshAfter),
      secretName: spec.secretCa.secretName,
      secretNamespace: spec.secretCa.secretNamespace,
    };
  }
  if (spec.certManager) {
    return {
      provider: 'certManager',
      certificateLifetimeSeconds: duration(
        spec.certManager.certificateLifetime,
        TLS_CLASS_DEFAULTS.certificateLifetime,
      ),
      issuerRef: spec.certManager.issuerRef,
    };
  }
  throw new Error(exactlyOneProvider.message);
}

/**
 * Every problem of a class named `name` with `spec`, each starting with its path, in the API
 * server's words: the schema, the CEL rules and the rule on the name.
 */
/**
 * A TlsClass resource as stacklets see it: its name and certificate lifetime, or undefined for a
 * spec that is not valid (which the API server's schema keeps out; a stacklet treats such a class
 * as missing rather than guessing its lifetime).
 */
export function tlsClassInfoOf(name: string, spec: unknown): TlsClassInfo | undefined {
  if (tlsClassProblems(name, spec).length > 0) return undefined;
  return infoOf(name, spec as TlsClassSpec);
}

/** What stacklets need of a valid class. */
function infoOf(name: string, spec: TlsClassSpec): TlsClassInfo {
  const resolved = resolveTlsClass(spec);
  return {
    name,
    certificateLifetimeSeconds: resolved.certificateLifetimeSeconds,
    ...(resolved.provider === 'certManager' ? { certManagerIssuer: resolved.issuerRef } : {}),
  };
}

export function tlsClassProblems(name: string, spec: unknown): string[] {
  return [
    ...(isTlsClassName(name)
      ? []
      : [`metadata.name: ${JSON.stringify(name)}: ${TLS_CLASS_NAME_RULE.message}`]),
    ...specProblems(TlsClassSpecSchema, spec),
  ];
}

const TLS_CLASS_SYMBOL = Symbol.for('keelson.TlsClass');

/**
 * A TLS class in synth mode: it writes the `TlsClass` custom resource (named by `id`), which the
 * keelson operator serves; stacklets defined after it in the same app that name the class (or
 * name none, for a class named `tls`) get TLS from it. An invalid spec writes nothing and is
 * reported at synth with every other problem.
 */
export class TlsClass extends Construct {
  /** True for a TlsClass from any copy of this package. */
  public static isTlsClass(x: unknown): x is TlsClass {
    return x !== null && typeof x === 'object' && TLS_CLASS_SYMBOL in x;
  }

  /** The class's name: `metadata.name` of the custom resource. */
  public readonly name: string;
  /** `keelson.dev/<name>`: the signer of its pod certificates and trust bundles. */
  public readonly signerName: string;
  /** The spec as given. */
  public readonly spec: TlsClassSpec;
  /** Why the spec was rejected, one line each; empty for a valid class. */
  public readonly problems: readonly string[];
  /** The custom resource, unless the spec was rejected. */
  public readonly apiObject?: ApiObject;

  constructor(scope: Construct, id: string, props: TlsClassSpec) {
    super(scope, id);
    Object.defineProperty(this, TLS_CLASS_SYMBOL, { value: true });
    this.name = id;
    this.signerName = tlsSignerName(id);
    this.spec = props;
    const problems = tlsClassProblems(id, props);
    if (tlsClassesIn(this).some((c) => c.name === id)) {
      problems.push(`metadata.name: another TlsClass is named "${id}" in this app; a class is cluster-wide`);
    }
    this.problems = problems;
    if (problems.length > 0) {
      const error = new SpecValidationError(`${TLS_CLASS_KIND} "${id}"`, problems);
      this.node.addValidation({
        validate: () => error.problems.map((p) => `${TLS_CLASS_KIND} "${id}": ${p}`),
      });
      return;
    }
    // Stacklets defined after this class in the app see it and get their TLS from it.
    registerTlsClass(this, infoOf(id, props));
    this.apiObject = new ApiObject(this, 'resource', {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: TLS_CLASS_KIND,
      metadata: { name: id },
      spec: props,
    });
    // Cluster-scoped: a chart's namespace, which cdk8s gives every object, does not apply.
    if (Chart.of(this).namespace) this.apiObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}
