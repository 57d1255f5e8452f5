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
