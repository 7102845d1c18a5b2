/**
 * The informers of one kind across the watched namespaces, read as one store. Watching a list of
 * namespaces needs one informer per namespace (RBAC may allow nothing cluster-wide); watching all
 * needs one cluster-wide informer. Readers do not care which.
 */
import type { Logger } from 'pino';
import type { KubeClient } from './client';
import { Informer, objectKeyOf, type InformerHandler, type KubeObject } from './informer';
import type { OperatorMetrics } from './metrics';
import type { ResourceType } from './resources';

export interface KindCacheOptions {
  /** Namespaces to watch; undefined or empty watches all. */
  readonly namespaces?: readonly string[];
  readonly labelSelector?: string;
  readonly watchTimeoutSeconds?: number;
  readonly pageSize?: number;
  /** Hold only each object's identity (see InformerOptions.metadataOnly). @default false */
  readonly metadataOnly?: boolean;
  /** What the store keeps of each object (see InformerOptions.view). */
  readonly view?: (object: KubeObject) => KubeObject;
}

export class KindCache {
  private readonly informers = new Map<string, Informer>();
  private readonly allNamespaces: boolean;

  constructor(
    client: KubeClient,
    public readonly resource: ResourceType,
    options: KindCacheOptions,
    log: Logger,
    metrics?: OperatorMetrics,
  ) {
    const namespaces = options.namespaces?.length ? options.namespaces : [undefined];
    this.allNamespaces = namespaces[0] === undefined;
    for (const namespace of namespaces) {
      this.informers.set(
        namespace ?? '*',
        new Informer(
          client,
          resource,
          {
            namespace,
            labelSelector: options.labelSelector,
            watchTimeoutSeconds: options.watchTimeoutSeconds,
            pageSize: options.pageSize,
            metadataOnly: options.metadataOnly,
            view: options.view,
          },
          log,
          metrics,
        ),
      );
    }
  }

  public on(handler: InformerHandler): void {
    for (const informer of this.informers.values()) informer.on(handler);
  }

  public start(): void {
    for (const informer of this.informers.values()) informer.start();
  }

  public async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  public get synced(): boolean {
    return [...this.informers.values()].every((i) => i.synced);
  }

  public async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  /** True when this cache watches `namespace`. */
  public covers(namespace: string): boolean {
    return this.allNamespaces || this.informers.has(namespace);
  }

  public get(namespace: string, name: string): KubeObject | undefined {
    return this.informerFor(namespace)?.get(namespace, name);
  }

  /** Objects in `namespace`, or in every watched namespace. */
  public *list(namespace?: string): IterableIterator<KubeObject> {
    const informers = namespace === undefined ? [...this.informers.values()] : [this.informerFor(namespace)];
    for (const informer of informers) {
      if (!informer) continue;
      for (const object of informer.list()) {
        if (namespace === undefined || object.metadata.namespace === namespace) yield object;
      }
    }
  }

  /**
   * Puts an object the API server just returned (an apply or status response) into the store, so
   * the next reconcile does not act on the state before its own write. The watch event that
   * follows carries the same or a newer version.
   */
  public remember(object: KubeObject): void {
    const informer = this.informerFor(object.metadata.namespace ?? '');
    informer?.remember(objectKeyOf(object.metadata.namespace, object.metadata.name), object);
  }

  public get size(): number {
    return [...this.informers.values()].reduce((n, i) => n + i.size, 0);
  }

  private informerFor(namespace: string): Informer | undefined {
    return this.informers.get(this.allNamespaces ? '*' : namespace);
  }
}
