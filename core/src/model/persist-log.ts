/**
 * The per-exchange lists of a keep-alive contract (KeepAliveContract `reusableAfter`,
 * `clientPersistence`, `serverPersistence`), kept in one byte an exchange.
 *
 * As arrays they cost 24 bytes an exchange (three pointers) for as long as the connection is open,
 * and again in every copy a detector keeps for its cross-connection window: on the request-heavy
 * bench capture at 2x (32 connections of 19k requests each, all open until the capture's end) they
 * were 17 MB of the 39 MB live heap when the connections were handed out. So the HTTP/1 session
 * records them here (`PersistLog`) and hands the engine a contract made on demand
 * (`contractWith`, model/exchange.ts `ExchangeSink.keepAlive`): the record gets plain arrays, made
 * once. The detectors' slim copies (detect/stream.ts `slimConnection`) hold them compactly again
 * (`compactKeepAlive`): the lists are getters that make the arrays when read, and the readers in
 * detect/util.ts go straight to the bytes (`persistEntry`).
 *
 * A byte: the client's basis (3 bits), the server's (3 bits), reusable (2 bits); 0 in a field is
 * "not recorded" (a hole in the arrays, as an array assigned past its end has).
 */
import type { KeepAliveContract, PersistBasis } from './types.js';
import { grow } from '../util/grow.js';

const BASIS_BITS = 3;
const BASIS_MASK = (1 << BASIS_BITS) - 1;
const REUSABLE_SHIFT = 2 * BASIS_BITS;

/** Codes 1.. of a basis (0: not recorded). */
const BASES: readonly (PersistBasis | null)[] = [null, null, 'close', 'http/1.1', 'keep-alive', 'http/1.0'];

function basisCode(b: PersistBasis | null | undefined): number {
  switch (b) {
    case undefined:
      return 0;
    case null:
      return 1;
    case 'close':
      return 2;
    case 'http/1.1':
      return 3;
    case 'keep-alive':
      return 4;
    case 'http/1.0':
      return 5;
  }
}

function basisOf(code: number): PersistBasis | null | undefined {
  return code === 0 ? undefined : BASES[code];
}

/** The three per-exchange lists of KeepAliveContract. */
export type PersistLists = Required<Pick<KeepAliveContract, 'reusableAfter' | 'clientPersistence' | 'serverPersistence'>>;

export class PersistLog {
  private bytes = new Uint8Array(16);
  /** One past the last exchange recorded (the arrays' length). */
  length = 0;

  /** Exchange `i` (index − 1): both sides' bases and whether the connection stayed reusable after it. */
  set(i: number, client: PersistBasis | null, server: PersistBasis | null, reusable: boolean): void {
    this.put(i, basisCode(client) | (basisCode(server) << BASIS_BITS) | ((reusable ? 2 : 1) << REUSABLE_SHIFT));
  }

  private put(i: number, byte: number): void {
    this.bytes = grow(this.bytes, i + 1);
    this.bytes[i] = byte;
    if (i >= this.length) this.length = i + 1;
  }

  /** `clientPersistence[i]` (undefined where nothing was recorded). */
  client(i: number): PersistBasis | null | undefined {
    return i < this.length ? basisOf(this.bytes[i] & BASIS_MASK) : undefined;
  }

  /** `serverPersistence[i]`. */
  server(i: number): PersistBasis | null | undefined {
    return i < this.length ? basisOf((this.bytes[i] >> BASIS_BITS) & BASIS_MASK) : undefined;
  }

  /** `reusableAfter[i]`. */
  reusable(i: number): boolean | undefined {
    const r = i < this.length ? this.bytes[i] >> REUSABLE_SHIFT : 0;
    return r === 0 ? undefined : r === 2;
  }

  /** Entry `i` of one of the lists (undefined where nothing was recorded). */
  at<K extends keyof PersistLists>(key: K, i: number): PersistLists[K][number] | undefined {
    return key === 'reusableAfter' ? this.reusable(i) : key === 'clientPersistence' ? this.client(i) : this.server(i);
  }

  /** The lists as arrays, holes where nothing was recorded (each list's length is the log's). */
  lists(): PersistLists {
    return { reusableAfter: this.list('reusableAfter'), clientPersistence: this.list('clientPersistence'), serverPersistence: this.list('serverPersistence') };
  }

  /** One of the lists as an array (see `lists`). */
  list<K extends keyof PersistLists>(key: K): PersistLists[K] {
    const n = this.length;
    const out: (boolean | PersistBasis | null)[] = [];
    for (let i = 0; i < n; i++) {
      const v = this.at(key, i);
      if (v !== undefined) out[i] = v;
    }
    // An array assigned at i has length i + 1 even where its last entries are holes.
    out.length = n;
    return out as PersistLists[K];
  }

  /** A log of a contract's lists; null when they are not three of one length (a report from before they were all recorded). */
  static of(k: KeepAliveContract): PersistLog | null {
    const { reusableAfter: r, clientPersistence: c, serverPersistence: s } = k;
    if (!c || !s || c.length !== r.length || s.length !== r.length) return null;
    const log = new PersistLog();
    for (let i = r.length - 1; i >= 0; i--) {
      const byte = (i in c ? basisCode(c[i]) : 0) | ((i in s ? basisCode(s[i]) : 0) << BASIS_BITS) | ((i in r ? (r[i] ? 2 : 1) : 0) << REUSABLE_SHIFT);
      if (byte !== 0 || i === r.length - 1) log.put(i, byte);
    }
    return log;
  }
}

/** `scalars` (a contract whose lists are placeholders, in their places) with the lists of `log`, as plain arrays. */
export function contractWith(scalars: KeepAliveContract, log: PersistLog): KeepAliveContract {
  return { ...scalars, ...log.lists() };
}

const logs = new WeakMap<KeepAliveContract, PersistLog>();

/**
 * A copy of `k` whose lists are kept in a PersistLog: enumerable getters that make the arrays each
 * time they are read (so JSON, spreads and deep equality see the same contract). `k` itself when
 * its lists cannot be (see `PersistLog.of`).
 */
export function compactKeepAlive(k: KeepAliveContract): KeepAliveContract {
  const log = PersistLog.of(k);
  if (!log) return k;
  const out = {} as KeepAliveContract;
  for (const key of Object.keys(k) as (keyof KeepAliveContract)[]) {
    if (key === 'reusableAfter' || key === 'clientPersistence' || key === 'serverPersistence') {
      Object.defineProperty(out, key, { enumerable: true, configurable: true, get: () => log.list(key) });
    } else Object.defineProperty(out, key, { enumerable: true, configurable: true, writable: true, value: k[key] });
  }
  logs.set(out, log);
  return out;
}

/** The log behind a contract made by `compactKeepAlive`, for reading one exchange without making the arrays. */
export function persistLogOf(k: KeepAliveContract): PersistLog | undefined {
  return logs.get(k);
}

/**
 * Entry `i` (exchange index − 1) of one of `k`'s lists, whether `k` is a record's contract (plain
 * arrays, a list possibly absent) or a compact copy (read from its log, one byte, no array made).
 */
export function persistEntry<K extends keyof PersistLists>(k: KeepAliveContract, key: K, i: number): PersistLists[K][number] | undefined {
  const log = logs.get(k);
  return log ? log.at(key, i) : (k[key] as PersistLists[K] | undefined)?.[i];
}
