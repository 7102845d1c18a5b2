/**
 * List+watch of one resource into an in-memory store.
 *
 * The list is paginated (`limit` + `continue`) so a large namespace never arrives in one response;
 * the watch resumes from the last resourceVersion it saw (bookmarks keep that fresh), so a dropped
 * connection costs one request, not a relist. Only `410 Gone` (the version fell out of the API
 * server's window) forces a full relist, which replaces the store and reports the difference as
 * events. Any other failure restarts with backoff. The API server ends each watch after
 * `timeoutSeconds`; a watchdog aborts a connection that stays silent well past that, because a
 * half-open TCP connection otherwise waits forever.
 */
import type { Logger } from 'pino';
import { backoffDelay, sleep } from './backoff';
import { ApiError, isStatus, type KubeClient } from './client';
import { WATCH_RESTART_REASONS, type OperatorMetrics } from './metrics';
import { collectionPath, type ResourceType } from './resources';

/** A Kubernetes object as JSON. */
export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
};

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string;
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export type InformerEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type InformerHandler = (type: InformerEventType, object: KubeObject, old?: KubeObject) => void;

export interface InformerOptions {
  /** Watch one namespace; undefined watches all. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  /** Objects per list page. @default 500 */
  readonly pageSize?: number;
  /** Server-side lifetime of one watch request. @default 300 (randomised up to twice that) */
  readonly watchTimeoutSeconds?: number;
  /** How long past the watch's own timeout the watchdog waits before aborting. @default 30000 */
  readonly silenceGraceMs?: number;
  /**
   * Keep only each object's identity (name, namespace, uid, resourceVersion, deletionTimestamp),
   * listed and watched as the API server's PartialObjectMetadata, for a kind whose content the
   * operator must not hold (Secrets). The rest of the metadata is dropped as well: an annotation
   * can carry the whole object (kubectl's last-applied-configuration holds a Secret's data).
   * @default false
   */
  readonly metadataOnly?: boolean;
  /**
   * What the store keeps of each object (of a kind whose objects are large and mostly unread, such
   * as pods). @default - the object without `metadata.managedFields`
   */
  readonly view?: (object: KubeObject) => KubeObject;
}

/** The API server's metadata-only renderings of a list and of watch event objects. */
const PARTIAL_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const PARTIAL_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** `namespace/name`, the store's key. */
export function objectKeyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class Informer {
  private readonly store = new Map<string, KubeObject>();
  private readonly handlers: InformerHandler[] = [];
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private hasSynced = false;
  private syncWaiters: (() => void)[] = [];
  private loop?: Promise<void>;

  constructor(
    private readonly client: KubeClient,
    public readonly resource: ResourceType,
    private readonly options: InformerOptions,
    private readonly log: Logger,
    private readonly metrics?: OperatorMetrics,
  ) {}

  public on(handler: InformerHandler): void {
    this.handlers.push(handler);
  }

  public get synced(): boolean {
    return this.hasSynced;
  }

  /** Resolves after the first complete list. */
  public waitForSync(): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  public get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(objectKeyOf(namespace, name));
  }

  public list(): IterableIterator<KubeObject> {
    return this.store.values();
  }

  public get size(): number {
    return this.store.size;
  }

  /** Stores a fresher copy of an object (see KindCache.remember); older versions are ignored. */
  public remember(key: string, object: KubeObject): void {
    const before = this.store.get(key);
    const rv = (o?: KubeObject) => Number(o?.metadata.resourceVersion ?? 0);
    if (before && rv(before) >= rv(object)) return;
    this.store.set(key, this.received(object));
  }

  public start(): void {
    // Every restart reason starts at 0, so a dashboard and a rate() see the watch before its first
    // restart, and a restart is an increase rather than a series that appears.
    for (const reason of WATCH_RESTART_REASONS)
      this.metrics?.watchRestarts.inc({ resource: this.resource.plural, reason }, 0);
    this.loop ??= this.run();
  }

  public async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!this.abort.signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        const started = Date.now();
        const ended = await this.watchOnce();
        failures = 0;
        // A server that ends watches at once must not turn this loop into a busy one.
        if (Date.now() - started < 1000) await sleep(1000, this.abort.signal);
        if (ended === 'expired') {
          this.metrics?.watchRestarts.inc({ resource: this.resource.plural, reason: 'expired' });
          needList = true;
        }
      } catch (error) {
        if (this.abort.signal.aborted) break;
        if (isStatus(error, 410)) {
          needList = true;
          this.metrics?.watchRestarts.inc({ resource: this.resource.plural, reason: 'expired' });
          continue;
        }
        failures++;
        const delay = backoffDelay(failures, { baseMs: 250, maxMs: 10_000 });
        this.metrics?.watchRestarts.inc({ resource: this.resource.plural, reason: 'error' });
        this.log.warn(
          {
            resource: this.resource.plural,
            namespace: this.options.namespace,
            err: errorMessage(error),
            retryInMs: delay,
          },
          'list/watch failed; retrying',
        );
        await sleep(delay, this.abort.signal);
      }
    }
  }

  /** A full paginated list; replaces the store and reports what changed. */
  private async relist(): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.client.request<{
        // null in an empty PartialObjectMetadataList (the API server does not make it [] there).
        items: KubeObject[] | null;
        metadata: { continue?: string; resourceVersion: string };
      }>('list', 'GET', collectionPath(this.resource, this.options.namespace), this.resource.plural, {
        query: {
          labelSelector: this.options.labelSelector,
          limit: this.options.pageSize ?? 500,
          continue: continueToken,
        },
        accept: this.options.metadataOnly ? PARTIAL_METADATA_LIST : undefined,
      });
      for (const item of page.items ?? []) {
        // Lists omit each item's apiVersion/kind; the cache keeps objects as a GET returns them.
        const object = this.received({
          apiVersion: this.resource.apiVersion,
          kind: this.resource.kind,
          ...item,
        } as KubeObject);
        fresh.set(objectKeyOf(object.metadata.namespace, object.metadata.name), object);
      }
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);

    const old = new Map(this.store);
    this.store.clear();
    for (const [key, object] of fresh) this.store.set(key, object);
    this.resourceVersion = resourceVersion;
    for (const [key, object] of fresh) {
      const before = old.get(key);
      if (!before) this.emit('ADDED', object);
      else if (before.metadata.resourceVersion !== object.metadata.resourceVersion)
        this.emit('MODIFIED', object, before);
    }
    for (const [key, object] of old) if (!fresh.has(key)) this.emit('DELETED', object);
    if (!this.hasSynced) {
      this.hasSynced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    this.log.debug(
      { resource: this.resource.plural, namespace: this.options.namespace, count: fresh.size },
      'listed',
    );
  }

  /** One watch request, from the last resourceVersion; 'expired' when the server says 410. */
  private async watchOnce(): Promise<'ended' | 'expired'> {
    const base = this.options.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.round(base * (1 + Math.random()));
    const silenceMs = timeoutSeconds * 1000 + (this.options.silenceGraceMs ?? 30_000);
    const connection = new AbortController();
    const onStop = () => connection.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    let silent = false;
    let watchdog = setTimeout(fire, silenceMs);
    function fire() {
      silent = true;
      connection.abort();
    }
    const heard = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(fire, silenceMs);
    };
    let expired = false;
    try {
      await this.client.watch(
        collectionPath(this.resource, this.options.namespace),
        this.resource.plural,
        {
          labelSelector: this.options.labelSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
        },
        (event) => {
          if (event.type === 'ERROR') {
            const status = event.object as { code?: number; reason?: string; message?: string };
            if (status.code === 410) {
              expired = true;
              connection.abort();
              return;
            }
            throw new ApiError(status.code ?? 500, status.reason ?? '', `watch error: ${status.message}`);
          }
          this.apply(event.type, this.received(event.object as KubeObject));
        },
        connection.signal,
        heard,
        this.options.metadataOnly ? PARTIAL_METADATA : undefined,
      );
    } catch (error) {
      if (expired) return 'expired';
      if (silent) {
        this.metrics?.watchRestarts.inc({ resource: this.resource.plural, reason: 'silent' });
        this.log.warn({ resource: this.resource.plural, silenceMs }, 'watch was silent; reconnecting');
        return 'ended';
      }
      throw error;
    } finally {
      clearTimeout(watchdog);
      this.abort.signal.removeEventListener('abort', onStop);
    }
    return expired ? 'expired' : 'ended';
  }

  /**
   * An object as the store keeps it: its identity alone when this informer keeps metadata only;
   * otherwise without `metadata.managedFields`, which nothing in keelson reads and which is often
   * the largest part of an object (a third or more of a StatefulSet), so that the operator's
   * memory follows what it compares.
   */
  private received(object: KubeObject): KubeObject {
    if (!this.options.metadataOnly) {
      if (this.options.view) return this.options.view(object);
      if (object.metadata?.managedFields !== undefined) delete object.metadata.managedFields;
      return object;
    }
    const { name, namespace, uid, resourceVersion, deletionTimestamp } = object.metadata;
    return {
      apiVersion: this.resource.apiVersion,
      kind: this.resource.kind,
      metadata: { name, namespace, uid, resourceVersion, deletionTimestamp },
    };
  }

  private apply(type: string, object: KubeObject): void {
    const rv = object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (type === 'BOOKMARK') return;
    const key = objectKeyOf(object.metadata.namespace, object.metadata.name);
    const before = this.store.get(key);
    if (type === 'DELETED') {
      this.store.delete(key);
      this.emit('DELETED', object);
    } else if (type === 'ADDED' || type === 'MODIFIED') {
      this.store.set(key, object);
      this.emit(before ? 'MODIFIED' : 'ADDED', object, before);
    }
  }

  private emit(type: InformerEventType, object: KubeObject, old?: KubeObject): void {
    for (const handler of this.handlers) {
      try {
        handler(type, object, old);
      } catch (error) {
        this.log.error({ err: errorMessage(error), resource: this.resource.plural }, 'event handler failed');
      }
    }
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
