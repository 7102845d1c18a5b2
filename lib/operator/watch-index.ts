/**
 * Which stacklets care about which other objects, in both directions: a reconcile says what its
 * stacklet reads now (replacing what it read before), and an event about an object asks who to
 * requeue. One index per relation: dependency ConfigMaps, referenced kinds, Secrets pods read.
 */
export class WatchIndex {
  /** `namespace/watched` → keys of the stacklets watching it. */
  private readonly watchers = new Map<string, Set<string>>();
  /** Stacklet key → the `namespace/watched` entries it watches. */
  private readonly watched = new Map<string, readonly string[]>();

  /** Records that stacklet `key` watches exactly `names` in `namespace` (none: forgets it). */
  public set(key: string, namespace: string, names: readonly string[]): void {
    for (const previous of this.watched.get(key) ?? []) {
      const keys = this.watchers.get(previous);
      keys?.delete(key);
      if (keys?.size === 0) this.watchers.delete(previous);
    }
    const next = names.map((name) => `${namespace}/${name}`);
    for (const entry of next) {
      let keys = this.watchers.get(entry);
      if (!keys) this.watchers.set(entry, (keys = new Set()));
      keys.add(key);
    }
    if (next.length > 0) this.watched.set(key, next);
    else this.watched.delete(key);
  }

  /** Forgets stacklet `key` (it is gone). */
  public forget(key: string): void {
    this.set(key, '', []);
  }

  /** The keys of the stacklets watching `name` in `namespace`. */
  public watchersOf(namespace: string | undefined, name: string): ReadonlySet<string> {
    return this.watchers.get(`${namespace ?? ''}/${name}`) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
