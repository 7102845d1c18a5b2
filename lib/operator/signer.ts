/**
 * keelson's operator as the signer of Kubernetes Pod Certificates (`certificates.k8s.io/v1beta1`).
 *
 * The kubelet makes a pod's key, keeps it on the node and asks for a certificate with a
 * PodCertificateRequest naming a signer; keelson signs for `keelson.dev/<TlsClass>`. For each
 * request it judges the pod by its owner chain (pod-certificates.ts), then either issues a
 * certificate for the pod's DNS names and its stacklet's Services from the class's CA, or answers
 * `Denied` (the pod is not a keelson stacklet's) or `Failed` (the class cannot sign) with a reason.
 * The answer goes through the request's status subresource; a settled request is never touched
 * again, so the work is idempotent and any replica's retry is harmless.
 *
 * A `keelsonCa` class's CA lives in a Secret `keelson-tls-ca-<class>` in the operator's namespace,
 * owned by the TlsClass (deleting the class deletes it), and is rotated with an overlap in which
 * both CAs are trusted (ca-rotation.ts decides when; the class is requeued for its next
 * transition). A `secretCa` class's CA is the user's, in the Secret the class names, read when
 * signing and never written (secret-ca.ts). Either key is never logged, never put in a status, an
 * Event or an error message. Each CA a class trusts is published as a ClusterTrustBundle
 * (`keelson.dev:<class>:<fingerprint>`, the name the API server requires of a bundle linked to a
 * signer) that pods mount through a `clusterTrustBundle` projection.
 *
 * Like the stacklet reconciler: caches (requests in the watched namespaces, keelson's bundles),
 * a work queue of `request/<ns>/<name>` and `class/<name>` keys that only the leader processes,
 * structured logs and Events on the pod.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../stacklet/labels';
import {
  createCertificateAuthority,
  issueCertificate,
  publicKeyOfCertificationRequest,
} from '../tls/certificates';
import { resolveTlsClass, type ResolvedTlsClass, type TlsClassSpec } from '../tls/class';
import { TLS_CLASS_LABEL, TLS_SIGNER_PREFIX, tlsClassOfSigner, tlsSignerName } from '../tls/pod-tls';
import {
  caSecretContents,
  CaSecretError,
  NEXT_CA_PUBLISHED_ANNOTATION,
  planCa,
  readCaSecret,
  withNewCa,
  type CaPlan,
  type CaSecretContents,
  type SigningCa,
} from './ca-rotation';
import { KindCache } from './cache';
import { certManagerCas } from './cert-manager-trust';
import { FIELD_MANAGER, isStatus, type KubeClient } from './client';
import type { EventRecorder } from './events';
import { errorMessage, type KubeObject } from './informer';
import type { OperatorMetrics } from './metrics';
import {
  backdateSeconds,
  DEFAULT_CLUSTER_DOMAIN,
  issuedStatus,
  isSettled,
  judgePod,
  refusedStatus,
  type PodOwners,
} from './pod-certificates';
import { WorkQueue } from './queue';
import { readSecretCa, SecretCaProblem, type SecretCa } from './secret-ca';
import { collectionPath, TLS_CLASS_RESOURCE, type ResourceType } from './resources';

export const POD_CERTIFICATE_REQUEST_RESOURCE: ResourceType = {
  apiVersion: 'certificates.k8s.io/v1beta1',
  kind: 'PodCertificateRequest',
  plural: 'podcertificaterequests',
};
export const CLUSTER_TRUST_BUNDLE_RESOURCE: ResourceType = {
  apiVersion: 'certificates.k8s.io/v1beta1',
  kind: 'ClusterTrustBundle',
  plural: 'clustertrustbundles',
};

/** The label naming the namespace of the operator whose CA a ClusterTrustBundle holds. */
export const CA_NAMESPACE_LABEL = 'keelson.dev/ca-namespace';

/** The Secret holding a class's CA (`ca.crt`, `ca.key`) in the operator's namespace. */
export function caSecretName(className: string): string {
  return `keelson-tls-ca-${className}`;
}

/**
 * The ClusterTrustBundle of a class's CA: the API server requires a bundle with a signer name to be
 * named `<signer name with ":" for "/">:<anything>`; the CA's fingerprint makes each CA's its own.
 */
export function trustBundleName(className: string, caCertificatePem: string): string {
  const fingerprint = createHash('sha256').update(caCertificatePem.trim()).digest('hex').slice(0, 16);
  return `${tlsSignerName(className).replace(/\//g, ':')}:${fingerprint}`;
}

/** How long a request for a class that does not exist yet waits for it before it Fails. */
const MISSING_CLASS_GRACE_MS = 2 * 60_000;

interface TlsClass extends KubeObject {
  spec?: TlsClassSpec;
}

/** A `keelsonCa` class's lifetimes, in seconds. */
type KeelsonCa = Extract<ResolvedTlsClass, { provider: 'keelsonCa' }>;

/** How often a `secretCa` class's Secret is read again, so that its trust bundle follows a new CA. */
const SECRET_CA_RESYNC_MS = 60_000;
/**
 * How soon a request waiting for a name (`waitForNames`) is looked at again: a load balancer's
 * address is the cloud's work and comes in seconds to minutes; nothing requeues the request when it
 * does, so the signer asks again.
 */
const NAMES_RETRY_MS = 5_000;

/** The longest a class waits for its next CA transition before it is looked at again. */
const MAX_CA_REQUEUE_MS = 6 * 3600_000;

interface PodCertificateRequest extends KubeObject {
  spec: {
    signerName: string;
    podName: string;
    podUID: string;
    maxExpirationSeconds?: number;
    stubPKCS10Request?: string;
  };
}

export interface PodCertificateSignerOptions {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly recorder: EventRecorder;
  readonly metrics: OperatorMetrics;
  /** The namespace the operator runs in: where the CA Secrets live. */
  readonly operatorNamespace: string;
  /** Namespaces whose requests are signed. @default - all */
  readonly namespaces?: readonly string[];
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  readonly watchTimeoutSeconds?: number;
  /** The operator's cache of TlsClasses. */
  readonly tlsClasses: KindCache;
  /** Make a class's CA and trust bundle as soon as the class appears, not when a pod first asks. */
  readonly publishOnClassEvents?: boolean;
  /** The pods' owners and Services, from the operator's caches. */
  readonly owners: Omit<PodOwners, 'replicaSet'>;
  /** The clock CA rotation follows. @default - the system's */
  readonly now?: () => Date;
  /**
   * The operator's cache of keelson's cert-manager Certificates, once it has one (cert-manager's
   * CRDs installed): a `certManager` class's CAs are published from their requests.
   */
  readonly certificates?: () => KindCache | undefined;
}

/** A failure with a reason for the request's `Failed` condition (the class cannot sign). */
class SigningFailure extends Error {
  constructor(
    public readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export class PodCertificateSigner {
  /**
   * True when the API server serves PodCertificateRequests (Kubernetes >= 1.35 with the
   * PodCertificateRequest feature and `certificates.k8s.io/v1beta1` on); the signer runs only then.
   */
  public static async served(client: KubeClient): Promise<boolean> {
    try {
      const list = await client.request<{ resources?: { name: string }[] }>(
        'get',
        'GET',
        `/apis/${POD_CERTIFICATE_REQUEST_RESOURCE.apiVersion}`,
        'discovery',
      );
      const names = (list.resources ?? []).map((r) => r.name);
      return names.includes('podcertificaterequests') && names.includes('clustertrustbundles');
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
  }

  public readonly requests: KindCache;
  public readonly bundles: KindCache;
  private readonly queue: WorkQueue<string>;
  private readonly log: Logger;
  private readonly clusterDomain: string;
  private readonly now: () => Date;
  /** Requests waiting for a name (`waitForNames`) whose pod got its Event, by uid. */
  private readonly waitingAnnounced = new Set<string>();

  constructor(private readonly options: PodCertificateSignerOptions) {
    this.now = options.now ?? (() => new Date());
    this.log = options.log.child({ controller: 'pod-certificate-signer' });
    this.clusterDomain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    const cacheOptions = { watchTimeoutSeconds: options.watchTimeoutSeconds };
    this.requests = new KindCache(
      options.client,
      POD_CERTIFICATE_REQUEST_RESOURCE,
      { ...cacheOptions, namespaces: options.namespaces },
      this.log,
      options.metrics,
    );
    this.requests.on((type, request) => {
      if (type === 'DELETED' || isSettled(request)) {
        this.waitingAnnounced.delete(request.metadata.uid ?? request.metadata.name);
        return;
      }
      if (!(request as PodCertificateRequest).spec?.signerName?.startsWith(TLS_SIGNER_PREFIX)) return;
      this.queue.add(`request/${request.metadata.namespace}/${request.metadata.name}`);
    });
    this.bundles = new KindCache(
      options.client,
      CLUSTER_TRUST_BUNDLE_RESOURCE,
      {
        ...cacheOptions,
        labelSelector: `${CA_NAMESPACE_LABEL}=${options.operatorNamespace},${TLS_CLASS_LABEL}`,
      },
      this.log,
      options.metrics,
    );
    // A bundle changed or deleted by someone else is put back.
    this.bundles.on((_type, bundle) => {
      const className = bundle.metadata.labels?.[TLS_CLASS_LABEL];
      if (className) this.queue.add(`class/${className}`);
    });
    if (options.publishOnClassEvents) {
      options.tlsClasses.on((type, tlsClass) => {
        if (type !== 'DELETED') this.queue.add(`class/${tlsClass.metadata.name}`);
      });
    }
    this.queue = new WorkQueue<string>({
      workers: 2,
      process: (key) => this.process(key),
      onError: (key, error, failures, retryInMs) =>
        this.log.warn({ key, err: errorMessage(error), failures, retryInMs }, 'signing failed; retrying'),
    });
  }

  /** The caches the operator starts, and waits for, beside its own. */
  public caches(): KindCache[] {
    return [this.requests, this.bundles];
  }

  /**
   * Looks at a class again soon: its CA may have changed (a `certManager` class's certificate was
   * issued, say). The leader's queue acts on it; a standby's keeps it until it leads.
   */
  public classChanged(className: string): void {
    this.queue.add(`class/${className}`);
  }

  /** Starts signing (the leader only). */
  public start(): void {
    this.queue.start();
  }

  public async stop(): Promise<void> {
    await this.queue.shutdown();
  }

  private async process(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const [what, ...rest] = key.split('/');
    if (what === 'class') return this.publishClass(rest[0]);
    return this.sign(rest[0], rest[1]);
  }

  /**
   * Makes sure a class's CA exists (a `keelsonCa` class's rotated when due) and its
   * ClusterTrustBundles say so; runs again at the next transition.
   */
  private async publishClass(className: string): Promise<{ requeueAfterMs?: number } | void> {
    const tlsClass = await this.readClass(className);
    const certManager = tlsClass?.spec?.certManager;
    if (tlsClass && certManager) {
      // cert-manager's CAs of the class, for the clients of its stacklets (cert-manager-trust.ts).
      const cas = await certManagerCas(
        this.options.client,
        className,
        certManager.issuerRef,
        this.options.certificates?.(),
        this.options.namespaces,
      );
      await this.publishTrustBundles(tlsClass, cas);
      return;
    }
    // A class that is gone takes its bundles and CA Secret with it (owner references).
    const provider = tlsClass && providerOf(tlsClass);
    if (!tlsClass || !provider) return;
    if (provider.provider === 'secretCa') {
      // The user's Secret is read again now and then: a CA put there reaches the trust bundle
      // without waiting for the next pod to ask.
      const ca = await this.secretCa(tlsClass, provider);
      if (ca) await this.publishTrustBundles(tlsClass, [ca.trustBundlePem]);
      return { requeueAfterMs: SECRET_CA_RESYNC_MS };
    }
    const plan = await this.certificateAuthority(tlsClass, provider);
    return { requeueAfterMs: this.untilTransition(plan) };
  }

  /** How long until the plan's next transition, within [1 s, MAX_CA_REQUEUE_MS]. */
  private untilTransition(plan: CaPlan): number {
    const ms = (plan.nextTransitionAt?.getTime() ?? 0) - this.now().getTime();
    return Math.min(MAX_CA_REQUEUE_MS, Math.max(1000, ms));
  }

  /** The last problem recorded on each `secretCa` class, so that a Warning is recorded once per problem. */
  private readonly secretCaProblems = new Map<string, string>();

  /**
   * A `secretCa` class's CA from the user's Secret, or undefined after recording on the class why
   * it cannot sign (`SecretCaProblem`); other errors are thrown for a retry.
   */
  private async secretCa(
    tlsClass: TlsClass,
    provider: Extract<ResolvedTlsClass, { provider: 'secretCa' }>,
    onProblem?: (problem: SecretCaProblem) => Promise<void>,
  ): Promise<SecretCa | undefined> {
    const className = tlsClass.metadata.name;
    try {
      const ca = await readSecretCa(this.options.client, provider);
      this.secretCaProblems.delete(className);
      return ca;
    } catch (error) {
      if (!(error instanceof SecretCaProblem)) throw error;
      if (this.secretCaProblems.get(className) !== error.message) {
        this.secretCaProblems.set(className, error.message);
        this.log.warn(
          { tlsClass: className, reason: error.reason, message: error.message },
          'the CA Secret cannot sign',
        );
        await this.options.recorder
          .record(
            { ...tlsClass, apiVersion: TLS_CLASS_RESOURCE.apiVersion, kind: TLS_CLASS_RESOURCE.kind },
            'Warning',
            error.reason,
            error.message,
          )
          .catch((e) =>
            this.log.debug({ err: errorMessage(e) }, 'could not record the Event on the TlsClass'),
          );
      }
      await onProblem?.(error);
      return undefined;
    }
  }

  private async sign(namespace: string, name: string): Promise<{ requeueAfterMs?: number } | void> {
    const request = this.requests.get(namespace, name) as PodCertificateRequest | undefined;
    if (!request || isSettled(request)) return;
    const signerName = request.spec.signerName;
    const log = this.log.child({ namespace, request: name, pod: request.spec.podName, signerName });
    const named = tlsClassOfSigner(signerName);
    if (!named) return;
    if ('invalid' in named) {
      return this.refuse(
        request,
        log,
        'Failed',
        'InvalidSignerName',
        `"${named.invalid}" in the signer name ${signerName} cannot name a TlsClass`,
      );
    }
    const tlsClass = await this.readClass(named.name);
    if (!tlsClass) {
      const age = Date.now() - Date.parse(String(request.metadata.creationTimestamp ?? ''));
      if (age < MISSING_CLASS_GRACE_MS) return { requeueAfterMs: 5000 };
      return this.refuse(
        request,
        log,
        'Failed',
        'TlsClassNotFound',
        `the TlsClass ${named.name} does not exist`,
      );
    }
    let provider: SignedTlsClass | undefined;
    try {
      provider = providerOf(tlsClass);
    } catch (error) {
      return this.refuse(request, log, 'Failed', 'InvalidTlsClass', errorMessage(error));
    }
    if (!provider) {
      return this.refuse(
        request,
        log,
        'Failed',
        'UnsupportedTlsClass',
        `the TlsClass ${named.name} has no provider keelson signs with (keelsonCa or secretCa)`,
      );
    }
    // The user's CA is read (and judged) before the pod: a class that cannot sign fails every request.
    let secretCa: SecretCa | undefined;
    if (provider.provider === 'secretCa') {
      // From now on the class's Secret is read again now and then, for its trust bundle: a CA put
      // there (or a Secret mended) reaches it without waiting for the next pod.
      this.queue.add(`class/${named.name}`);
      let failed = false;
      secretCa = await this.secretCa(tlsClass, provider, async (problem) => {
        failed = true;
        await this.refuse(request, log, 'Failed', problem.reason, problem.message);
      });
      if (failed || !secretCa) return;
    }

    const pod = await this.getOrUndefined(
      `/api/v1/namespaces/${namespace}/pods/${request.spec.podName}`,
      'pods',
    );
    if (!pod || pod.metadata.uid !== request.spec.podUID) {
      return this.refuse(
        request,
        log,
        'Denied',
        'PodNotFound',
        `the pod ${namespace}/${request.spec.podName} (uid ${request.spec.podUID}) does not exist`,
      );
    }
    const verdict = await judgePod(
      pod,
      {
        ...this.options.owners,
        replicaSet: (ns, rs) =>
          this.getOrUndefined(`/apis/apps/v1/namespaces/${ns}/replicasets/${rs}`, 'replicasets'),
      },
      this.clusterDomain,
    );
    if (!verdict.allowed) return this.refuse(request, log, 'Denied', verdict.reason, verdict.message);
    if (verdict.waitingFor) return this.waitForNames(request, pod, verdict.waitingFor, log);

    let issued;
    // The operator's clock, not the injected one CA rotation follows: the API server checks
    // notBefore against its own clock.
    const issuedAt = new Date();
    try {
      const lifetime = provider.certificateLifetimeSeconds;
      let ca: SecretCa['signing'];
      if (secretCa) {
        ca = secretCa.signing;
        await this.publishTrustBundles(tlsClass, [secretCa.trustBundlePem]);
      } else {
        const plan = await this.certificateAuthority(tlsClass, provider as KeelsonCa);
        // The class is looked at again when its CA changes, pods asking or not.
        this.queue.addAfter(`class/${named.name}`, this.untilTransition(plan));
        ca = plan.signing!;
      }
      let subjectPublicKey: Buffer;
      try {
        subjectPublicKey = publicKeyOfCertificationRequest(
          Buffer.from(request.spec.stubPKCS10Request ?? '', 'base64'),
        );
      } catch (error) {
        return this.refuse(request, log, 'Denied', 'InvalidCertificationRequest', errorMessage(error));
      }
      issued = await issueCertificate({
        ca,
        subjectPublicKey,
        dnsNames: verdict.dnsNames,
        ipAddresses: verdict.ipAddresses,
        lifetimeSeconds: Math.min(lifetime, request.spec.maxExpirationSeconds ?? lifetime),
        now: issuedAt,
        // A refresh sooner than 10 minutes after issue needs an earlier notBefore (pod-certificates.ts).
        backdateSeconds: backdateSeconds(provider.certificateRefreshAfterSeconds),
      });
    } catch (error) {
      if (error instanceof SigningFailure)
        return this.refuse(request, log, 'Failed', error.reason, error.message);
      throw error;
    }
    const names = [...verdict.dnsNames, ...verdict.ipAddresses];
    const message = `issued by ${signerName} for the ${verdict.stacklet.kind} ${verdict.stacklet.name}: ${names.join(', ')}`;
    // An intermediate CA of the user's follows the leaf, for clients that trust only its root.
    const chain = { ...issued, certificatePem: issued.certificatePem + (secretCa?.intermediatePem ?? '') };
    await this.writeStatus(
      request,
      issuedStatus(chain, message.slice(0, 32_768), issuedAt, provider.certificateRefreshAfterSeconds),
    );
    this.options.metrics.podCertificates.inc({ result: 'issued' });
    log.info(
      {
        dnsNames: verdict.dnsNames,
        ipAddresses: verdict.ipAddresses,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        stacklet: verdict.stacklet.name,
      },
      'pod certificate issued',
    );
    await this.options.recorder
      .record(pod, 'Normal', 'CertificateIssued', `${message}; valid until ${issued.notAfter.toISOString()}`)
      .catch((error) => log.warn({ err: errorMessage(error) }, 'could not record the Event'));
  }

  /**
   * Leaves a request unanswered while a name its certificate must carry is not known (a per-pod
   * listener's load balancer without an address): the kubelet keeps the pod waiting, as the pod's
   * start would wait for that address anyway, and the request is looked at again shortly. The pod
   * gets one Event saying what it waits for.
   */
  private async waitForNames(
    request: PodCertificateRequest,
    pod: KubeObject,
    waitingFor: string,
    log: Logger,
  ): Promise<void> {
    this.queue.addAfter(`request/${request.metadata.namespace}/${request.metadata.name}`, NAMES_RETRY_MS);
    const uid = request.metadata.uid ?? request.metadata.name;
    if (this.waitingAnnounced.has(uid)) return;
    this.waitingAnnounced.add(uid);
    log.info({ waitingFor }, 'pod certificate waits for a name it must carry');
    await this.options.recorder
      .record(
        pod,
        'Normal',
        'CertificateWaiting',
        `the pod certificate waits for ${waitingFor}, a name it must carry`,
      )
      .catch((error) => log.warn({ err: errorMessage(error) }, 'could not record the Event'));
  }

  /** Answers a request `Denied` or `Failed`; the kubelet tells the pod's Events why. */
  private async refuse(
    request: PodCertificateRequest,
    log: Logger,
    type: 'Denied' | 'Failed',
    reason: string,
    message: string,
  ): Promise<void> {
    await this.writeStatus(request, refusedStatus(type, reason, message));
    this.options.metrics.podCertificates.inc({ result: type.toLowerCase() });
    log.info({ result: type, reason, message }, `pod certificate ${type.toLowerCase()}`);
  }

  private async writeStatus(request: PodCertificateRequest, status: Record<string, unknown>): Promise<void> {
    const { namespace, name } = request.metadata;
    const updated = await this.options.client.request<KubeObject>(
      'update',
      'PUT',
      `${collectionPath(POD_CERTIFICATE_REQUEST_RESOURCE, namespace)}/${name}/status`,
      'podcertificaterequests/status',
      { body: { ...request, status } },
    );
    this.requests.remember(updated);
  }

  /** A class from the operator's cache, or read when the cache has not seen it (yet). */
  private async readClass(name: string): Promise<TlsClass | undefined> {
    const cached = this.options.tlsClasses.get('', name) as TlsClass | undefined;
    if (cached) return cached;
    return this.getOrUndefined(`${collectionPath(TLS_CLASS_RESOURCE)}/${name}`, TLS_CLASS_RESOURCE.plural);
  }

  private async getOrUndefined(path: string, resource: string): Promise<KubeObject | undefined> {
    try {
      return await this.options.client.request<KubeObject>('get', 'GET', path, resource);
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /**
   * The class's CA as its rotation plan says (ca-rotation.ts): reads the CA Secret, makes the first
   * CA or the successor when due, writes the Secret when it should hold something else, publishes
   * every CA the class trusts and removes the bundles of those it no longer trusts. Replicas racing
   * write with the Secret's resourceVersion (or create it); the loser plans again from the winner's.
   */
  private async certificateAuthority(tlsClass: TlsClass, provider: KeelsonCa): Promise<CaPlan> {
    const className = tlsClass.metadata.name;
    const path = `/api/v1/namespaces/${this.options.operatorNamespace}/secrets`;
    const secretName = caSecretName(className);
    const where = `${this.options.operatorNamespace}/${secretName}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.now();
      const secret = await this.getOrUndefined(`${path}/${secretName}`, 'secrets');
      let stored: CaSecretContents | undefined;
      if (secret) {
        const owner = (secret.metadata.ownerReferences ?? []).find((r) => r.kind === 'TlsClass');
        if (owner && owner.uid !== tlsClass.metadata.uid) {
          throw new Error(
            `the CA Secret ${where} belongs to an earlier TlsClass ${className} (uid ${owner.uid}); waiting for its deletion`,
          );
        }
        try {
          stored = readCaSecret(decoded(secret), secret.metadata.annotations ?? {}, now);
        } catch (error) {
          if (!(error instanceof CaSecretError)) throw error;
          throw new SigningFailure('InvalidCaSecret', `the CA Secret ${where} ${error.message}`);
        }
      }
      let plan = planCa(stored, provider, now);
      let created: SigningCa | undefined;
      if (plan.create) {
        created = await createCertificateAuthority({
          commonName: `keelson ${className}`.slice(0, 64),
          lifetimeSeconds: provider.caLifetimeSeconds,
          now,
        });
        plan = planCa(withNewCa(plan.state, plan.create, created, now), provider, now);
      }
      if (!plan.signing) throw new Error(`the CA of the TlsClass ${className} could not be planned`);
      const wanted = caSecretContents(plan.state);
      try {
        if (!secret) await this.createCaSecret(tlsClass, path, secretName, wanted);
        else if (!holds(secret, wanted)) await this.updateCaSecret(secret, path, wanted);
      } catch (error) {
        // another replica wrote first: plan again from theirs
        if (isStatus(error, 409)) continue;
        throw error;
      }
      if (created) {
        this.log.info(
          {
            tlsClass: className,
            secret: secretName,
            notAfter: created.notAfter,
            signing: plan.signing.certificatePem === created.certificatePem,
          },
          stored?.current ? 'successor certificate authority created' : 'certificate authority created',
        );
      }
      if (stored?.current && stored.current.certificatePem !== plan.signing.certificatePem) {
        this.log.info(
          { tlsClass: className, secret: secretName, notAfter: plan.signing.notAfter },
          'signing switched to the successor certificate authority',
        );
      }
      await this.publishTrustBundles(tlsClass, plan.trusted);
      return plan;
    }
    throw new Error(`the CA Secret ${where} keeps changing under the operator; retrying`);
  }

  private async createCaSecret(
    tlsClass: TlsClass,
    path: string,
    name: string,
    wanted: ReturnType<typeof caSecretContents>,
  ): Promise<void> {
    await this.options.client.request('create', 'POST', path, 'secrets', {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: {
          name,
          namespace: this.options.operatorNamespace,
          labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [TLS_CLASS_LABEL]: tlsClass.metadata.name },
          annotations: wanted.annotations,
          ownerReferences: [classOwnerReference(tlsClass)],
        },
        data: encoded(wanted.data),
      },
    });
  }

  /** Replaces the Secret's data and keelson's annotation, if nobody changed it since it was read. */
  private async updateCaSecret(
    secret: KubeObject,
    path: string,
    wanted: ReturnType<typeof caSecretContents>,
  ): Promise<void> {
    const annotations = { ...(secret.metadata.annotations ?? {}) };
    delete annotations[NEXT_CA_PUBLISHED_ANNOTATION];
    await this.options.client.request('update', 'PUT', `${path}/${secret.metadata.name}`, 'secrets', {
      body: {
        ...secret,
        metadata: { ...secret.metadata, annotations: { ...annotations, ...wanted.annotations } },
        data: encoded(wanted.data),
      },
    });
  }

  /**
   * Publishes each CA the class trusts as its own ClusterTrustBundle and removes this operator's
   * bundles of the class that hold any other.
   */
  private async publishTrustBundles(tlsClass: TlsClass, trusted: readonly string[]): Promise<void> {
    const className = tlsClass.metadata.name;
    const names = new Set<string>();
    for (const caCertificatePem of trusted) {
      names.add(await this.publishTrustBundle(tlsClass, caCertificatePem));
    }
    for (const bundle of [...this.bundles.list()]) {
      if (bundle.metadata.labels?.[TLS_CLASS_LABEL] !== className || names.has(bundle.metadata.name))
        continue;
      try {
        await this.options.client.request(
          'delete',
          'DELETE',
          `${collectionPath(CLUSTER_TRUST_BUNDLE_RESOURCE)}/${bundle.metadata.name}`,
          CLUSTER_TRUST_BUNDLE_RESOURCE.plural,
        );
        this.log.info(
          { tlsClass: className, clusterTrustBundle: bundle.metadata.name },
          'old trust bundle removed',
        );
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    }
  }

  /** Publishes one CA as a ClusterTrustBundle of the class; returns the bundle's name. */
  private async publishTrustBundle(tlsClass: TlsClass, caCertificatePem: string): Promise<string> {
    const className = tlsClass.metadata.name;
    const name = trustBundleName(className, caCertificatePem);
    const labels = {
      [LABEL_MANAGED_BY]: MANAGED_BY,
      [TLS_CLASS_LABEL]: className,
      [CA_NAMESPACE_LABEL]: this.options.operatorNamespace,
    };
    const existing = this.bundles.get('', name);
    const current =
      existing &&
      (existing.spec as { trustBundle?: string } | undefined)?.trustBundle === caCertificatePem &&
      Object.entries(labels).every(([k, v]) => existing.metadata.labels?.[k] === v);
    if (current) return name;
    const applied = await this.options.client.request<KubeObject>(
      'apply',
      'PATCH',
      `${collectionPath(CLUSTER_TRUST_BUNDLE_RESOURCE)}/${name}`,
      CLUSTER_TRUST_BUNDLE_RESOURCE.plural,
      {
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: 'application/apply-patch+yaml',
        body: {
          apiVersion: CLUSTER_TRUST_BUNDLE_RESOURCE.apiVersion,
          kind: CLUSTER_TRUST_BUNDLE_RESOURCE.kind,
          metadata: { name, labels, ownerReferences: [classOwnerReference(tlsClass)] },
          spec: { signerName: tlsSignerName(className), trustBundle: caCertificatePem },
        },
      },
    );
    this.bundles.remember(applied);
    this.log.info({ tlsClass: className, clusterTrustBundle: name }, 'trust bundle published');
    return name;
  }
}

/** A Secret's data, decoded to text. */
function decoded(secret: KubeObject): Record<string, string> {
  const data = (secret.data ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

function encoded(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
}

/** True when the CA Secret holds exactly `wanted`'s data and keelson's annotation as it should be. */
function holds(secret: KubeObject, wanted: ReturnType<typeof caSecretContents>): boolean {
  const data = decoded(secret);
  const keys = new Set([...Object.keys(data), ...Object.keys(wanted.data)]);
  return (
    [...keys].every((k) => data[k] === wanted.data[k]) &&
    secret.metadata.annotations?.[NEXT_CA_PUBLISHED_ANNOTATION] ===
      wanted.annotations[NEXT_CA_PUBLISHED_ANNOTATION]
  );
}

/**
 * A class's provider with its defaults, undefined for a class of a provider keelson does not sign
 * for; throws for a spec the API server should not have admitted.
 */
function providerOf(tlsClass: TlsClass): SignedTlsClass | undefined {
  const spec = tlsClass.spec ?? {};
  if (!spec.keelsonCa && !spec.secretCa) return undefined;
  const resolved = resolveTlsClass(spec);
  // A `certManager` class is cert-manager's to issue for; its pods mount Secrets, not pod certificates.
  return resolved.provider === 'certManager' ? undefined : resolved;
}

/** The classes keelson signs for. */
type SignedTlsClass = Exclude<ResolvedTlsClass, { provider: 'certManager' }>;

function classOwnerReference(tlsClass: TlsClass) {
  return {
    apiVersion: TLS_CLASS_RESOURCE.apiVersion,
    kind: TLS_CLASS_RESOURCE.kind,
    name: tlsClass.metadata.name,
    uid: tlsClass.metadata.uid!,
    controller: true,
    blockOwnerDeletion: false,
  };
}
