/**
 * A bounded cache with least-recently-used eviction in the cheap two-generation form (as
 * quick-lru does): a hit in the current generation is one `Map.get`, with no reordering on the
 * hot path; a hit in the old generation moves the entry to the current one; when the current
 * generation reaches `max`, it becomes the old one and the previous old one is dropped. So at
 * most `2 × max` entries are held, and an entry used at least once per `max` insertions stays.
 */
export class Lru<K, V> {
  private current = new Map<K, V>();
  private old = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    const hit = this.current.get(key);
    if (hit !== undefined) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) {
      this.old.delete(key);
      this.insert(key, aged);
    }
    return aged;
  }

  set(key: K, value: V): void {
    if (this.current.has(key)) this.current.set(key, value);
    else {
      this.old.delete(key);
      this.insert(key, value);
    }
  }

  delete(key: K): void {
    this.current.delete(key);
    this.old.delete(key);
  }

  get size(): number {
    return this.current.size + this.old.size;
  }

  clear(): void {
    this.current.clear();
    this.old.clear();
  }

  private insert(key: K, value: V): void {
    if (this.current.size >= this.max) {
      this.old = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }
}
