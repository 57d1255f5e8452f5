/**
 * The first (oldest) key of a Map, or value of a Set, used as a queue, in amortised O(1).
 * `map.keys().next()` is not: V8 leaves deleted entries in place until a rehash, and a fresh
 * iterator steps over all of them (a full map evicting its first key on every insert became
 * quadratic). One iterator is kept instead: every key it has passed was deleted by the caller, or
 * deleted and re-inserted (which puts it at the end), so its next key is always the oldest live
 * one. Only for that pattern: take the oldest, then delete or re-queue it before asking again.
 */
export class OldestKey<K> {
  private it: Iterator<K>;
  constructor(private readonly queue: { keys(): Iterator<K> }) {
    this.it = queue.keys();
  }
  next(): K {
    let r = this.it.next();
    if (r.done) {
      this.it = this.queue.keys();
      r = this.it.next();
    }
    return r.value as K;
  }
}

/**
 * A Set used as a FIFO queue: `oldest()` in amortised O(1), as OldestKey, without its leak on a
 * churning set. V8 keeps the hash tables a Set outgrew (or compacted) alive for as long as an
 * iterator still points into them, each with the entries it held then: an iterator left idle
 * while the set churns (connections created and finished, no eviction for hours of capture)
 * retains every value that ever passed through. So the iterator is dropped once the set has seen
 * as many additions as it holds since the last `oldest()` (a table is replaced at most about that
 * often); the fresh one made at the next `oldest()` steps over at most the deleted slots before
 * the first live entry, paid for by those additions.
 */
export class QueueSet<K> extends Set<K> {
  private it: Iterator<K> | null = null;
  private addsSince = 0;

  override add(k: K): this {
    super.add(k);
    if (this.it !== null && ++this.addsSince > Math.max(64, this.size)) this.it = null;
    return this;
  }

  /**
   * The oldest value (the set must not be empty). Only for the queue pattern: take the oldest,
   * then delete or re-add it before asking again.
   */
  oldest(): K {
    this.addsSince = 0;
    let r = this.it?.next();
    if (r === undefined || r.done) {
      this.it = this.keys();
      r = this.it.next();
    }
    return r.value as K;
  }
}

/** QueueSet's Map twin: a Map used as a FIFO queue by insertion order, `oldest()` without the leak. */
export class QueueMap<K, V> extends Map<K, V> {
  private it: Iterator<K> | null = null;
  private addsSince = 0;

  override set(k: K, v: V): this {
    super.set(k, v);
    if (this.it !== null && ++this.addsSince > Math.max(64, this.size)) this.it = null;
    return this;
  }

  /** The oldest key (the map must not be empty); take it, then delete or re-set it before asking again. */
  oldest(): K {
    this.addsSince = 0;
    let r = this.it?.next();
    if (r === undefined || r.done) {
      this.it = this.keys();
      r = this.it.next();
    }
    return r.value as K;
  }
}
