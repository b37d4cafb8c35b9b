// An in-memory storage adapter for node-oidc-provider, for the benchmark only.
//
// The provider's bundled MemoryAdapter is an LRU of 1,000 entries whose per-grant index is
// rewritten in full on every upsert (O(n) in the tokens of a grant), so a long run would evict
// live sessions and grow slower with every token. This one keeps plain Maps, an index per grant
// as a Set, and checks expiry on read: the fastest storage the peer could have, with no I/O at
// all (Sesame writes to SQLite or PostgreSQL).

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

const store = new Map(); // key → { payload, expiresAt }
const grants = new Map(); // grantId → Set of keys
const uids = new Map(); // session uid → session id
const userCodes = new Map(); // user code → device code id

function live(entry) {
  return entry && (entry.expiresAt === undefined || entry.expiresAt > Date.now()) ? entry.payload : undefined;
}

/** One adapter per model name (Session, Grant, AccessToken, …), all over the same Maps. */
export class BenchAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { payload, expiresAt });
    if (this.model === 'Session' && payload.uid) uids.set(payload.uid, id);
    if (payload.userCode) userCodes.set(payload.userCode, id);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      let members = grants.get(payload.grantId);
      if (!members) {
        members = new Set();
        grants.set(payload.grantId, members);
      }
      members.add(key);
    }
  }

  async find(id) {
    return live(store.get(this.key(id)));
  }

  async findByUid(uid) {
    const id = uids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const entry = store.get(key);
    store.delete(key);
    const grantId = entry?.payload.grantId;
    if (grantId) grants.get(grantId)?.delete(key);
  }

  async revokeByGrantId(grantId) {
    const members = grants.get(grantId);
    if (!members) return;
    for (const key of members) store.delete(key);
    grants.delete(grantId);
  }
}
