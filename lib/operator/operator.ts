/**
 * The operator: caches for every registered stacklet kind, the kinds they create and the
 * metadata of Secrets, event handlers that turn changes into queued stacklet keys, the work queue
 * and its reconcilers, and leader election in front of the workers. Caches run on every replica
 * (a standby that takes over starts with a warm cache); only the leader reconciles.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { ApiAccess } from './api-access';
import type { Logger } from 'pino';
import { LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, MANAGED_BY } from '../stacklet/labels';
import { API_GROUP, type ProductDefinition } from '../stacklet/product';
import { KindCache, type KindCacheOptions } from './cache';
import { isStatus, KubeClient } from './client';
import { EventRecorder } from './events';
import type { KubeObject } from './informer';
import { LeaderElector } from './leader';
import { podHealthChanged, podHealthView } from './pod-health';
import { OperatorMetrics } from './metrics';
import type { ReferencedObject } from '../stacklet/references';
import { WorkQueue } from './queue';
import { WatchIndex } from './watch-index';
import { Reconciler } from './reconciler';
import { PodCertificateSigner } from './signer';
import { CertificateRestarts } from './certificate-restarts';
import {
  CERTIFICATE_RESOURCE,
  OPTIONAL_CHILD_RESOURCES,
  CHILD_RESOURCES,
  CONFIG_MAP_RESOURCE,
  kindKey,
  POD_RESOURCE,
  SECRET_RESOURCE,
  stackletResource,
  TLS_CLASS_RESOURCE,
  LISTENER_CLASS_RESOURCE,
  AUTHENTICATION_CLASS_RESOURCE,
  NODE_RESOURCE,
  type ResourceType,
} from './resources';
import { listenerClassInfoOf, type ListenerClassInfo } from '../listener/class';
import { authenticationClassInfoOf, type AuthenticationClassInfo } from '../authentication/class';
import { nodeAddressView } from './listener-addresses';
import { tlsClassInfoOf } from '../tls/class';
import { TLS_CLASS_LABEL, type TlsClassInfo } from '../tls/pod-tls';
import { OPERATOR_PRODUCT_NAME } from './monitoring';

/** How long the operator trusts its last look at whether cert-manager's Certificates are served. */
const CERTIFICATES_LOOK_MS = 10_000;

export interface OperatorOptions {
  readonly products: readonly ProductDefinition[];
  /** The API server and credentials (a client-node KubeConfig also serves). */
  readonly access: ApiAccess | KubeConfig;
  readonly log: Logger;
  /** Namespaces to watch. @default - all */
  readonly namespaces?: readonly string[];
  /** Reconciles running at once. @default 4 */
  readonly workers?: number;
  /** Lease-based leader election; `undefined` runs as the only replica. */
  readonly leaderElection?: { namespace: string; identity: string; leaseDurationSeconds?: number };
  /** Re-reconcile every stacklet this often, to pick up what no event announced. @default 600000 */
  readonly resyncMs?: number;
  /** Server-side lifetime of each watch request. @default 300 */
  readonly watchTimeoutSeconds?: number;
  /** @default - a new registry */
  readonly metrics?: OperatorMetrics;
  /** Called when the lease is lost: the process must stop writing (the CLI exits). */
  readonly onLeadershipLost?: () => void;
  /**
   * Sign Kubernetes Pod Certificates for the `keelson.dev/<TlsClass>` signers, when the cluster
   * serves them (see signer.ts). @default true
   */
  readonly podCertificateSigner?: boolean;
  /** The namespace the operator runs in, where it keeps its CAs' Secrets. @default 'default' */
  readonly operatorNamespace?: string;
  /** The cluster's DNS domain, in the names of pod certificates. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /**
   * The time, as the operator's decisions about certificate expiry see it (certificate-restarts.ts).
   * Tests that cannot wait for a certificate to age move it forward; nothing else reads it.
   * @default - the system clock
   */
  readonly clock?: () => Date;
}

export class Operator {
  public readonly metrics: OperatorMetrics;
  private readonly client: KubeClient;
  private readonly stacklets = new Map<
    string,
    { cache: KindCache; reconciler: Reconciler; product: ProductDefinition }
  >();
  private readonly children = new Map<string, { cache: KindCache; resource: ResourceType }>();
  private readonly queue: WorkQueue<string>;
  private readonly elector?: LeaderElector;
  /**
   * Every ConfigMap in the watched namespaces, identity and version only: dependencies may be
   * ConfigMaps keelson did not make (and so does not cache in full).
   */
  private readonly configMaps: KindCache;
  /** Stacklets and the ConfigMaps they depend on. */
  private readonly dependencies = new WatchIndex();
  /** Stacklets and the keelson kinds they refer to (by name or label selector). */
  private readonly references = new WatchIndex();
  /** Every Secret in the watched namespaces, identity and version only (never data). */
  private readonly secrets: KindCache;
  /**
   * keelson's pods, identity and status only: a change to a pod's health requeues its stacklet,
   * whose reconcile then finds its children up to date and writes status alone.
   */
  private readonly pods: KindCache;
  /** Stacklets and the Secrets their pods read. */
  private readonly secretReaders = new WatchIndex();
  /** The cluster's TlsClasses: one appearing or going turns TLS on or off, so every stacklet requeues. */
  private readonly tlsClasses: KindCache;
  /** The cluster's ListenerClasses: one appearing, going or changing changes Services, so every stacklet requeues. */
  private readonly listenerClasses: KindCache;
  /** The cluster's AuthenticationClasses: one appearing, going or changing changes products' config, so every stacklet requeues. */
  private readonly authenticationClasses: KindCache;
  /** Nodes' addresses, which per-pod listeners of NodePort classes advertise. */
  private readonly nodes: KindCache;
  private readonly recorder: EventRecorder;
  /** The Pod Certificate signer, once start() found the cluster serving Pod Certificates. */
  private signer?: PodCertificateSigner;
  private resyncTimer?: NodeJS.Timeout;
  /** When the operator last asked whether each optional kind is served, and the answer, by kind key. */
  private readonly servedLooks = new Map<string, { at: number; served: Promise<boolean> }>();
  private leading = false;
  private stopped = false;

  constructor(private readonly options: OperatorOptions) {
    this.metrics = options.metrics ?? new OperatorMetrics();
    this.client = new KubeClient(options.access, this.metrics);
    const log = options.log;
    const cacheOptions = { namespaces: options.namespaces, watchTimeoutSeconds: options.watchTimeoutSeconds };
    const managed = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
    for (const resource of CHILD_RESOURCES) {
      const cache = new KindCache(
        this.client,
        resource,
        { ...cacheOptions, labelSelector: managed },
        log,
        this.metrics,
      );
      cache.on((_type, object) => this.onChildEvent(object));
      this.children.set(kindKey(resource.apiVersion, resource.kind), { cache, resource });
    }
    // Not label-filtered: the Secrets and ConfigMaps stacklets read may be the user's, which carry
    // no keelson labels; metadata only, because all they need to tell is that one changed.
    this.secrets = this.metadataCache(SECRET_RESOURCE, this.secretReaders, cacheOptions);
    this.configMaps = this.metadataCache(CONFIG_MAP_RESOURCE, this.dependencies, cacheOptions);
    this.pods = new KindCache(
      this.client,
      POD_RESOURCE,
      { ...cacheOptions, labelSelector: managed, view: podHealthView },
      log,
      this.metrics,
    );
    this.pods.on((_type, pod, old) => {
      if (podHealthChanged(old, pod)) this.onPodEvent(pod);
    });
    this.tlsClasses = this.classCache(TLS_CLASS_RESOURCE);
    this.listenerClasses = this.classCache(LISTENER_CLASS_RESOURCE);
    this.authenticationClasses = this.classCache(AUTHENTICATION_CLASS_RESOURCE);
    this.nodes = new KindCache(
      this.client,
      NODE_RESOURCE,
      { watchTimeoutSeconds: options.watchTimeoutSeconds, view: nodeAddressView },
      log,
      this.metrics,
    );
    // Nodes' addresses rarely change (the view drops heartbeats); when one does, the per-pod
    // addresses of every stacklet with pods there may.
    this.nodes.on((type, object, old) => {
      if (
        type === 'MODIFIED' &&
        old &&
        JSON.stringify(old.status) === JSON.stringify(object.status) &&
        JSON.stringify(old.metadata.labels) === JSON.stringify(object.metadata.labels)
      )
        return;
      if (type !== 'DELETED' && this.leading) this.enqueueAll();
    });
    const recorder = new EventRecorder(this.client, options.leaderElection?.identity ?? 'keelson');
    this.recorder = recorder;
    for (const product of options.products) {
      const resource = stackletResource(product);
      const cache = new KindCache(this.client, resource, cacheOptions, log, this.metrics);
      cache.on((type, object, old) => {
        if (type === 'MODIFIED' && old && !specOrMetaChanged(old, object)) return;
        this.enqueue(product.kind, object);
        for (const key of this.references.watchersOf(object.metadata.namespace, product.kind))
          this.queue.add(key);
      });
      const reconciler = new Reconciler({
        product,
        resource,
        client: this.client,
        stacklets: cache,
        children: this.children,
        secrets: this.secrets,
        configMaps: this.configMaps,
        pods: this.pods,
        recorder,
        metrics: this.metrics,
        log,
        onDependencies: (namespace, name, configMaps) =>
          this.dependencies.set(`${product.kind}/${namespace}/${name}`, namespace, configMaps),
        objects: (namespace, kind) => this.objectsOf(namespace, kind),
        onReferences: (namespace, name, kinds) =>
          this.references.set(`${product.kind}/${namespace}/${name}`, namespace, kinds),
        onSecrets: (namespace, name, secrets) =>
          this.secretReaders.set(`${product.kind}/${namespace}/${name}`, namespace, secrets),
        // The operator's pods, as `keelson deploy` labels them, in the namespace it runs in.
        operatorPods: {
          namespace: options.operatorNamespace ?? 'default',
          labels: { [LABEL_NAME]: OPERATOR_PRODUCT_NAME },
        },
        certificateRestarts: new CertificateRestarts({
          product,
          client: this.client,
          statefulSets: () => this.children.get(kindKey('apps/v1', 'StatefulSet'))?.cache,
          pods: this.pods,
          requests: (namespace) => this.signer?.requests.list(namespace) ?? [],
          trustBundles: () => this.signer?.bundles.list() ?? [],
          recorder,
          now: options.clock ?? (() => new Date()),
        }),
        trustBundles: () => this.signer?.bundles.list() ?? [],
        clusterDomain: options.clusterDomain,
        childKind: (apiVersion, kind) => this.childKind(apiVersion, kind),
        tlsClasses: () =>
          [...this.tlsClasses.list()]
            .filter((c) => !c.metadata.deletionTimestamp)
            .map((c) => tlsClassInfoOf(c.metadata.name, c.spec))
            .filter((c): c is TlsClassInfo => c !== undefined),
        listenerClasses: () =>
          [...this.listenerClasses.list()]
            .filter((c) => !c.metadata.deletionTimestamp)
            .map((c) => listenerClassInfoOf(c.metadata.name, c.spec))
            .filter((c): c is ListenerClassInfo => c !== undefined),
        authenticationClasses: () =>
          [...this.authenticationClasses.list()]
            .filter((c) => !c.metadata.deletionTimestamp)
            .map((c) => authenticationClassInfoOf(c.metadata.name, c.spec))
            .filter((c): c is AuthenticationClassInfo => c !== undefined),
        listenerCaches: {
          services: (namespace) => [
            ...(this.children.get(kindKey('v1', 'Service'))?.cache.list(namespace) ?? []),
          ],
          podNode: (namespace, pod) =>
            (this.pods.get(namespace, pod)?.spec as { nodeName?: string } | undefined)?.nodeName,
          nodeAddresses: (node) => this.nodeAddresses(node),
        },
        topologyCaches: {
          pods: (namespace) => [...this.pods.list(namespace)],
          nodeLabels: (node) => this.nodes.get('', node)?.metadata.labels,
        },
      });
      this.stacklets.set(product.kind, { cache, reconciler, product });
    }
    this.queue = new WorkQueue<string>({
      workers: options.workers ?? 4,
      process: (key) => this.process(key),
      onDepth: (depth) => this.metrics.queueDepth.set(depth),
      onError: (key, error, failures, retryInMs) =>
        log.warn(
          { key, err: error instanceof Error ? error.message : String(error), failures, retryInMs },
          'reconcile failed',
        ),
    });
    if (options.leaderElection) {
      this.elector = new LeaderElector(this.client, options.leaderElection, log);
    }
  }

  /** True once every cache has listed its objects. */
  public get ready(): boolean {
    return [...this.caches()].every((c) => c.synced);
  }

  public get isLeader(): boolean {
    return this.leading;
  }

  /** Starts the caches, waits for them, then (once leading) the workers. */
  public async start(): Promise<void> {
    for (const resource of OPTIONAL_CHILD_RESOURCES)
      if (await this.serves(resource)) this.addChildCache(resource);
    await this.startSigner();
    for (const cache of this.caches()) cache.start();
    await Promise.all([...this.caches()].map((c) => c.waitForSync()));
    this.options.log.info(
      {
        stacklets: [...this.stacklets.values()].reduce((n, s) => n + s.cache.size, 0),
        namespaces: this.options.namespaces ?? 'all',
      },
      'caches synced',
    );
    if (this.elector) {
      this.metrics.leader.set(0);
      try {
        await this.elector.acquire(() => {
          this.leading = false;
          this.metrics.leader.set(0);
          this.options.onLeadershipLost?.();
        });
      } catch {
        return; // stopped while campaigning
      }
    }
    if (this.stopped) return;
    this.leading = true;
    this.metrics.leader.set(1);
    this.enqueueAll();
    this.queue.start();
    this.signer?.start();
    const resync = this.options.resyncMs ?? 600_000;
    if (resync > 0) {
      this.resyncTimer = setInterval(() => this.enqueueAll(), resync);
      this.resyncTimer.unref();
    }
  }

  /** Finishes the reconciles in progress, gives up the lease and stops watching. */
  public async stop(): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await this.queue.shutdown();
    await this.signer?.stop();
    await this.elector?.stop();
    this.leading = false;
    await Promise.all([...this.caches()].map((c) => c.stop()));
  }

  private *caches(): IterableIterator<KindCache> {
    for (const { cache } of this.children.values()) yield cache;
    for (const { cache } of this.stacklets.values()) yield cache;
    yield this.secrets;
    yield this.configMaps;
    yield this.pods;
    yield this.tlsClasses;
    yield this.listenerClasses;
    yield this.authenticationClasses;
    yield this.nodes;
    if (this.signer) yield* this.signer.caches();
  }

  /**
   * Makes the Pod Certificate signer when it is wanted and the cluster serves Pod Certificates
   * (Kubernetes >= 1.35 with the features on); otherwise the operator runs without it.
   */
  private async startSigner(): Promise<void> {
    if (this.options.podCertificateSigner === false) return;
    if (!(await PodCertificateSigner.served(this.client))) {
      this.options.log.info(
        'the cluster does not serve Pod Certificates (certificates.k8s.io/v1beta1 podcertificaterequests); not signing',
      );
      return;
    }
    const children = this.children;
    const cached = (kind: string) =>
      children.get(kindKey(kind === 'Service' ? 'v1' : 'apps/v1', kind))?.cache;
    this.signer = new PodCertificateSigner({
      client: this.client,
      log: this.options.log,
      recorder: this.recorder,
      metrics: this.metrics,
      operatorNamespace: this.options.operatorNamespace ?? 'default',
      namespaces: this.options.namespaces,
      clusterDomain: this.options.clusterDomain,
      watchTimeoutSeconds: this.options.watchTimeoutSeconds,
      tlsClasses: this.tlsClasses,
      // An operator of the whole cluster makes each class's CA and trust bundle as soon as the class
      // exists; one watching some namespaces only for the classes their pods ask for, so that
      // several such operators do not each make a CA for every class in the cluster.
      publishOnClassEvents: !this.options.namespaces?.length,
      certificates: () =>
        this.children.get(kindKey(CERTIFICATE_RESOURCE.apiVersion, CERTIFICATE_RESOURCE.kind))?.cache,
      owners: {
        // From the cache of keelson's workloads; one that is not there (yet, or not keelson's) is read.
        workload: async (kind, namespace, name) =>
          cached(kind)?.get(namespace, name) ??
          (await this.client
            .request<KubeObject>(
              'get',
              'GET',
              `/apis/apps/v1/namespaces/${namespace}/${kind.toLowerCase()}s/${name}`,
              `${kind.toLowerCase()}s`,
            )
            .catch((error: unknown) => {
              if (isStatus(error, 404)) return undefined;
              throw error;
            })),
        stacklet: (kind, namespace, name) => this.stacklets.get(kind)?.cache.get(namespace, name),
        services: (namespace) => cached('Service')?.list(namespace) ?? [],
        nodeAddresses: (node) => this.nodeAddresses(node),
      },
    });
    // A CA published for a class (a new bundle): the pods of roles that read their trust only at
    // start are due a restart a minute later (certificate-restarts.ts). Every stacklet looks now
    // and is requeued for that moment, rather than at the next resync (ten minutes by default),
    // which could come after the new CA signs when the overlap is short. A bundle is new when its
    // uid is: the signer puts what it publishes into the cache itself, so the watch reports its
    // own bundles as modified, not added.
    const bundlesSeen = new Set<string>();
    this.signer.bundles.on((type, bundle) => {
      const uid = bundle.metadata.uid ?? bundle.metadata.name;
      if (type === 'DELETED') {
        bundlesSeen.delete(uid);
        return;
      }
      if (bundlesSeen.has(uid)) return;
      bundlesSeen.add(uid);
      if (this.leading) this.enqueueAll();
    });
  }

  /** A node's addresses from the node cache (per-pod listeners and their certificates read them). */
  private nodeAddresses(node: string): readonly { type: string; address: string }[] | undefined {
    return (
      this.nodes.get('', node)?.status as { addresses?: { type: string; address: string }[] } | undefined
    )?.addresses;
  }

  /**
   * True when the API server serves `resource` (an optional child kind: its CRDs are installed).
   * Asked at start, and again by a reconcile that built objects of a kind the operator has no cache
   * for, at most every CERTIFICATES_LOOK_MS: cert-manager or prometheus-operator installed while the
   * operator runs is found without a restart.
   */
  private serves(resource: ResourceType): Promise<boolean> {
    const key = kindKey(resource.apiVersion, resource.kind);
    const look = this.servedLooks.get(key);
    if (look && Date.now() - look.at < CERTIFICATES_LOOK_MS) return look.served;
    const served = this.client
      .request<{ resources?: { name: string }[] }>('get', 'GET', `/apis/${resource.apiVersion}`, 'discovery')
      .then((list) => (list.resources ?? []).some((r) => r.name === resource.plural))
      .catch((error: unknown) => {
        if (isStatus(error, 404, 503)) return false;
        throw error;
      });
    this.servedLooks.set(key, { at: Date.now(), served });
    // A failed look is not kept: the next one asks again.
    served.catch(() => this.servedLooks.delete(key));
    return served;
  }

  /** Caches (and so applies and prunes) keelson's objects of an optional child kind. */
  private addChildCache(resource: ResourceType): KindCache {
    const cache = new KindCache(
      this.client,
      resource,
      {
        namespaces: this.options.namespaces,
        watchTimeoutSeconds: this.options.watchTimeoutSeconds,
        labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
      },
      this.options.log,
      this.metrics,
    );
    cache.on((_type, object) => {
      this.onChildEvent(object);
      // A class's certificate issued (or gone): its CAs, published for its clients, may change.
      const tlsClass = object.metadata.labels?.[TLS_CLASS_LABEL];
      if (resource === CERTIFICATE_RESOURCE && tlsClass) this.signer?.classChanged(tlsClass);
    });
    this.children.set(kindKey(resource.apiVersion, resource.kind), { cache, resource });
    return cache;
  }

  /**
   * Makes sure the operator caches `kind`, a kind a build emitted that is not among the fixed
   * child kinds: true when it now does (cert-manager's Certificates, prometheus-operator's
   * ServiceMonitors and PrometheusRules, once their CRDs are served: the cache is started and synced
   * here), false when it cannot.
   */
  private async childKind(apiVersion: string, kind: string): Promise<boolean> {
    const key = kindKey(apiVersion, kind);
    if (this.children.has(key)) return true;
    const resource = OPTIONAL_CHILD_RESOURCES.find((r) => kindKey(r.apiVersion, r.kind) === key);
    if (!resource || this.stopped) return false;
    if (!(await this.serves(resource))) return false;
    if (!this.children.has(key)) {
      this.options.log.info({ kind }, `the API server serves ${kind}s now; caching them`);
      this.addChildCache(resource).start();
    }
    await this.children.get(key)!.cache.waitForSync();
    return true;
  }

  /**
   * A cache of a cluster-scoped class kind (TlsClass, ListenerClass, AuthenticationClass) that any stacklet may name: a
   * class added, removed or given a new spec requeues every stacklet.
   */
  private classCache(resource: ResourceType): KindCache {
    const cache = new KindCache(
      this.client,
      resource,
      { watchTimeoutSeconds: this.options.watchTimeoutSeconds },
      this.options.log,
      this.metrics,
    );
    cache.on((type, object, old) => {
      if (type === 'MODIFIED' && old && old.metadata.generation === object.metadata.generation) return;
      if (this.leading) this.enqueueAll();
    });
    return cache;
  }

  /** A metadata-only cache of `resource` whose changes requeue the stacklets `watchers` lists. */
  private metadataCache(resource: ResourceType, watchers: WatchIndex, options: KindCacheOptions): KindCache {
    const cache = new KindCache(
      this.client,
      resource,
      { ...options, metadataOnly: true },
      this.options.log,
      this.metrics,
    );
    cache.on((_type, object) => {
      for (const key of watchers.watchersOf(object.metadata.namespace, object.metadata.name))
        this.queue.add(key);
    });
    return cache;
  }

  private enqueue(kind: string, object: KubeObject): void {
    this.queue.add(`${kind}/${object.metadata.namespace}/${object.metadata.name}`);
  }

  private enqueueAll(): void {
    for (const [kind, { cache }] of this.stacklets)
      for (const object of cache.list()) this.enqueue(kind, object);
  }

  /** A child changed: its owner reconciles. (Dependents of a ConfigMap hear of it from `configMaps`.) */
  private onChildEvent(object: KubeObject): void {
    for (const ref of object.metadata.ownerReferences ?? []) {
      if (!ref.controller || !ref.apiVersion.startsWith(`${API_GROUP}/`) || !this.stacklets.has(ref.kind))
        continue;
      this.queue.add(`${ref.kind}/${object.metadata.namespace}/${ref.name}`);
    }
  }

  /** A pod's health changed: the stacklet its labels name reconciles (pods are owned by workloads). */
  private onPodEvent(pod: KubeObject): void {
    const labels = pod.metadata.labels ?? {};
    const instance = labels[LABEL_INSTANCE];
    if (!instance || !pod.metadata.namespace) return;
    for (const [kind, { product }] of this.stacklets) {
      if (product.name === labels[LABEL_NAME])
        this.queue.add(`${kind}/${pod.metadata.namespace}/${instance}`);
    }
  }

  /** The keelson objects of `kind` in `namespace` that are not being deleted, as references see them. */
  private objectsOf(namespace: string, kind: string): ReferencedObject[] {
    const entry = this.stacklets.get(kind);
    if (!entry) return [];
    return [...entry.cache.list(namespace)]
      .filter((o) => !o.metadata.deletionTimestamp)
      .map((o) => ({ kind, name: o.metadata.name, labels: o.metadata.labels ?? {}, spec: o.spec ?? {} }));
  }

  private async process(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const [kind, namespace, name] = key.split('/');
    const entry = this.stacklets.get(kind);
    if (!entry) return;
    const end = this.metrics.reconcileDuration.startTimer({ kind });
    try {
      const outcome = await entry.reconciler.reconcile(namespace, name);
      this.metrics.reconciles.inc({ kind, result: outcome.result });
      if (outcome.result === 'gone') {
        for (const index of [this.dependencies, this.references, this.secretReaders]) index.forget(key);
      }
      return { requeueAfterMs: outcome.requeueAfterMs };
    } catch (error) {
      this.metrics.reconciles.inc({ kind, result: 'error' });
      await entry.reconciler.reportFailure(namespace, name, error);
      throw error;
    } finally {
      end();
    }
  }
}

/** A change a reconcile cares about: not one to status alone (which keelson itself writes). */
function specOrMetaChanged(old: KubeObject, object: KubeObject): boolean {
  return (
    old.metadata.generation !== object.metadata.generation ||
    old.metadata.deletionTimestamp !== object.metadata.deletionTimestamp ||
    JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(object.metadata.labels ?? {})
  );
}
