import { merged } from '../util/merged.js';
import type { ClientGrantRepository, SubjectType } from './access-repositories.js';
import type {
  ApiRepository,
  ApplicationRepository,
  Repositories,
  RevocationRepository,
  SettingsRepository,
} from './repositories.js';
import type { Api, Application, ClientGrant } from './types.js';

/** How long another instance's change may go unseen (PostgreSQL; SQLite sees it at once). */
export const READ_CACHE_TTL_MS = 1000;
/** Where the tenant settings are kept, apart from what other writes clear. */
const SETTINGS_KEY = 'settings:';
/** At most this many entries; the oldest go first. Misses are never kept (ids come from requests). */
export const READ_CACHE_MAX = 10_000;

/**
 * A short-lived cache of what every token request reads and admins seldom change: applications,
 * APIs and client grants (#16). Any write through this process's storage empties it (again after
 * its transaction commits). Changes by other processes are seen on SQLite by any request
 * that begins a millisecond after they commit, or in a later turn of the event loop (its
 * `data_version` moves on each commit by another connection; see `begin`), and within
 * `READ_CACHE_TTL_MS` on PostgreSQL. What it keeps is deeply frozen, and callers share it: a change must go through
 * the repository, never into the object (copying each hit cost more than the rest of a read).
 * What is not found is not kept, and the cache holds at most `READ_CACHE_MAX` entries, so ids
 * sent by anyone cannot grow it.
 */
export class ReadCache {
  private readonly entries = new Map<string, { value: unknown; at: number }>();
  private generation = 0;
  private seenVersion: number;
  /** When a request last read `dataVersion` (`begin`), until this turn of the event loop ends. */
  private begunAt: number | null = null;
  private readonly turnEnded = () => {
    this.begunAt = null;
  };

  constructor(
    private readonly ttlMs = READ_CACHE_TTL_MS,
    /** SQLite's `PRAGMA data_version`: moves when another connection committed. */
    private readonly dataVersion: (() => number) | null = null,
  ) {
    this.seenVersion = dataVersion?.() ?? 0;
  }

  async read<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.peek<T>(key);
    return hit !== undefined ? hit : this.load(load, (value) => [[key, value]]);
  }

  /** What is kept under `key` and still fresh, without loading it. */
  peek<T>(key: string): T | undefined {
    const now = performance.now();
    if (this.dataVersion && (this.begunAt === null || now - this.begunAt >= 1)) this.seeOtherCommits();
    const hit = this.entries.get(key);
    return hit && now - hit.at < this.ttlMs ? (hit.value as T) : undefined;
  }

  /**
   * Loads a value and keeps what `entries` takes out of it under their keys (one read may
   * bring several: #16's client-credentials statement), each frozen; nulls are not kept.
   */
  async load<T>(load: () => Promise<T>, entries: (value: T) => [string, unknown][]): Promise<T> {
    const at = performance.now();
    const generation = this.generation;
    const value = deepFreeze(await load());
    // A write while loading may have changed what was read: keep it only if none came.
    if (generation !== this.generation) return value;
    for (const [key, entry] of entries(value)) {
      if (entry === null) continue;
      this.entries.delete(key);
      if (this.entries.size >= READ_CACHE_MAX) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { value: entry, at });
    }
    return value;
  }

  /**
   * A request begins: what other connections committed is seen now, and the requests and reads
   * that follow in this turn of the event loop, for at most a millisecond, need not look again.
   * So a commit by another process is seen by every request that begins a millisecond or more
   * after it, and by the first one of each turn at once; requests that reach a busy process
   * together (one turn) share one look. Reading SQLite's `data_version` takes a read lock on
   * the WAL index: about 6.5 µs, 3–5% of a token (#16).
   */
  begin(): void {
    if (!this.dataVersion) return;
    const now = performance.now();
    if (this.begunAt !== null && now - this.begunAt < 1) return;
    try {
      this.seeOtherCommits();
    } catch {
      // The database cannot be read (closed, or gone): forget what is kept, and let the reads
      // that need it fail as they would. A request that needs none (/healthz, /readyz) goes on.
      this.clear();
      return;
    }
    if (this.begunAt === null) setImmediate(this.turnEnded);
    this.begunAt = now;
  }

  private seeOtherCommits(): void {
    const version = this.dataVersion!();
    if (version !== this.seenVersion) {
      this.seenVersion = version;
      this.clear();
    }
  }

  /**
   * Forgets what is kept: everything, or (`exceptSettings`, after a write that is not to the
   * settings) all but the tenant settings, which every request reads and which such a write
   * leaves as they were.
   */
  clear(exceptSettings = false): void {
    this.generation++;
    if (!exceptSettings) {
      this.entries.clear();
      return;
    }
    for (const key of this.entries.keys()) if (!key.startsWith(SETTINGS_KEY)) this.entries.delete(key);
  }
}

/** Freezes a row read from the database and everything in it (plain objects and arrays). */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || ArrayBuffer.isView(value)) {
    return value;
  }
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
  return value;
}

/** Whether a transaction wrote what the cache holds (then it reads past the cache, and clears it at commit). */
export interface CacheTransaction {
  wrote: boolean;
  /** Whether what it wrote includes the settings (else they stay kept at commit). */
  wroteSettings?: boolean;
}

/** How `withReadCache` wraps a storage's repositories. */
export interface ReadCacheOptions {
  /** In a transaction: its reads go past the cache once it wrote. */
  tx?: CacheTransaction;
  /** Tells the other instances of a write (on PostgreSQL, a NOTIFY in the same transaction). */
  announce?: () => Promise<void>;
  /**
   * Whether revocation lookups are cached too (#16: the one statement of an introspection). Only
   * where a commit elsewhere is seen by the requests that begin a millisecond after it, and by the
   * first of each turn at once (SQLite's `data_version`, `begin`): on PostgreSQL a notification
   * has no such bound (it is handled whenever its connection's data is read).
   */
  revocations?: boolean;
}

/**
 * The repositories with cached reads of applications, APIs and client grants (and, see
 * `revocations`, of revoked tokens), every write to them clearing the cache and then calling
 * `announce`. The four wrapped repositories replace theirs in `repos`, a set made for this call
 * (one per transaction): copying its two dozen members would cost more than the transaction's
 * reads, and leave V8 a slow dictionary object (#16).
 */
export function withReadCache(
  repos: Repositories,
  cache: ReadCache,
  opts: ReadCacheOptions = {},
): Repositories {
  const { tx, announce } = opts;
  const read = <T>(key: string, load: () => Promise<T>) => (tx?.wrote ? load() : cache.read(key, load));
  const write =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>, settings = false) =>
    async (...args: A): Promise<R> => {
      if (tx) {
        tx.wrote = true;
        if (settings) tx.wroteSettings = true;
      }
      cache.clear(!settings);
      try {
        const result = await fn(...args);
        await announce?.();
        return result;
      } finally {
        cache.clear(!settings);
      }
    };
  // A hold changes nothing, so nothing kept goes and no other instance is told; but the
  // transaction's reads after it must see the held row, not what the cache kept.
  const hold =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (tx) tx.wrote = true;
      return fn(...args);
    };
  const key = {
    app: (clientId: string) => `app:${clientId}`,
    apiByIdentifier: (identifier: string) => `api-identifier:${identifier}`,
    grant: (clientId: string, apiId: string, subjectType?: SubjectType) =>
      `grant:${clientId}\n${apiId}\n${subjectType ?? 'client'}`,
    revoked: (jti: string) => `revoked:${jti}`,
  };
  const a = repos.applications;
  const applications: ApplicationRepository = merged<ApplicationRepository, Partial<ApplicationRepository>>(
    a,
    {
      get: (clientId) => read(key.app(clientId), () => a.get(clientId)),
      create: write(a.create),
      delete: write(a.delete),
      setSecretHash: write(a.setSecretHash),
      update: write(a.update),
      hold: hold(a.hold),
      ensureSystem: write(a.ensureSystem),
    },
  );
  const p = repos.apis;
  const apis: ApiRepository = merged<ApiRepository, Partial<ApiRepository>>(p, {
    get: (id) => read(`api:${id}`, () => p.get(id)),
    getByIdentifier: (identifier) =>
      read(key.apiByIdentifier(identifier), () => p.getByIdentifier(identifier)),
    create: write(p.create),
    delete: write(p.delete),
    update: write(p.update),
    hold: hold(p.hold),
    ensureSystem: write(p.ensureSystem),
  });
  const g = repos.clientGrants;
  const clientGrants: ClientGrantRepository = merged<ClientGrantRepository, Partial<ClientGrantRepository>>(
    g,
    {
      get: (clientId, apiId, subjectType) =>
        read(key.grant(clientId, apiId, subjectType), () => g.get(clientId, apiId, subjectType)),
      // Kept as the three entries that `applications.get`, `apis.getByIdentifier` and `get` read.
      async machineAccess(clientId, audience) {
        const load = () => g.machineAccess(clientId, audience);
        if (tx?.wrote) return load();
        const application = cache.peek<Application>(key.app(clientId));
        const api = cache.peek<Api>(key.apiByIdentifier(audience));
        const grant = api && cache.peek<ClientGrant>(key.grant(clientId, api.id));
        if (application && api && grant) return { application, api, grant };
        return cache.load(load, (found): [string, unknown][] => {
          if (!found) return [];
          const kept: [string, unknown][] = [
            [key.app(clientId), found.application],
            [key.apiByIdentifier(audience), found.api],
          ];
          if (found.api) kept.push([key.grant(clientId, found.api.id), found.grant]);
          return kept;
        });
      },
      upsert: write(g.upsert),
      setScopes: write(g.setScopes),
      hold: hold(g.hold),
      delete: write(g.delete),
      deleteById: write(g.deleteById),
    },
  );
  const r = repos.revocations;
  const cachesRevocations = opts.revocations === true;
  const revocations: RevocationRepository = merged<RevocationRepository, Partial<RevocationRepository>>(r, {
    // The application and the API are kept as `applications.get` and `apis.getByIdentifier`
    // keep them. The jti's answer is not: anyone can send any jti here, so only `isRevoked` of a
    // verified token's jti may be kept.
    async withApplication(clientId, jti, audience) {
      const load = () => r.withApplication(clientId, jti, audience);
      if (tx?.wrote) return load();
      const application = cache.peek<Application>(key.app(clientId));
      const api = audience === '' ? null : cache.peek<Api>(key.apiByIdentifier(audience));
      if (application && api !== undefined) return { application, revoked: null, api };
      return cache.load(load, (found): [string, unknown][] => {
        if (!found) return [];
        const kept: [string, unknown][] = [[key.app(clientId), found.application]];
        if (audience !== '') kept.push([key.apiByIdentifier(audience), found.api]);
        return kept;
      });
    },
    ...(cachesRevocations && {
      isRevoked: (jti: string) => read(key.revoked(jti), () => r.isRevoked(jti)),
      revoke: write(r.revoke),
      purgeExpired: write(r.purgeExpired),
    }),
  });
  // Settings are read by fixed names, never by ids from requests: a missing document is kept too.
  const s = repos.settings;
  const settings: SettingsRepository = {
    get: async (name) => (await read(`${SETTINGS_KEY}${name}`, async () => ({ doc: await s.get(name) }))).doc,
    put: write(s.put, true),
    hold: hold(s.hold),
  };
  return Object.assign(repos, { applications, apis, clientGrants, revocations, settings });
}
