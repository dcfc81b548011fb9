/**
 * The provider's storage: one Map per test server (the package's own memory adapter works too, but
 * cannot list what belongs to one user, which `revokeUser` needs, and warns on every start).
 */
type Payload = Record<string, unknown> & { accountId?: string; grantId?: string; uid?: string };

interface Entry {
  payload: Payload;
  expiresAt?: number;
}

export class ProviderStore {
  readonly entries = new Map<string, Entry>();

  /** The adapter factory for the provider's `adapter` option: one adapter per model name. */
  adapterFor = (model: string) => new StoreAdapter(model, this);

  live(key: string): Payload | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  /** Deletes every grant of `accountId`, everything issued under those grants, and the user's sessions. */
  revokeAccount(accountId: string): void {
    const grants = new Set<string>();
    for (const [key, { payload }] of this.entries)
      if (key.startsWith('Grant:') && payload.accountId === accountId) grants.add(key.slice('Grant:'.length));
    for (const [key, { payload }] of this.entries)
      if (payload.accountId === accountId || (payload.grantId && grants.has(payload.grantId)))
        this.entries.delete(key);
  }

  /** Puts client metadata where `Client.find` looks for clients not in the static configuration. */
  putClient(metadata: Record<string, unknown> & { client_id: string }): void {
    this.entries.set(`Client:${metadata.client_id}`, { payload: metadata });
  }
}

/** The adapter interface oidc-provider expects (lib/adapters/memory_adapter.js is the reference). */
class StoreAdapter {
  constructor(
    private readonly model: string,
    private readonly store: ProviderStore,
  ) {}

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    this.store.entries.set(this.key(id), { payload, expiresAt });
  }

  async find(id: string): Promise<Payload | undefined> {
    return this.store.live(this.key(id));
  }

  async findByUid(uid: string): Promise<Payload | undefined> {
    return this.findWhere((p) => p.uid === uid);
  }

  async findByUserCode(userCode: string): Promise<Payload | undefined> {
    return this.findWhere((p) => p.userCode === userCode);
  }

  async consume(id: string): Promise<void> {
    const payload = this.store.live(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.store.entries.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [key, { payload }] of this.store.entries)
      if (key.startsWith(`${this.model}:`) && payload.grantId === grantId) this.store.entries.delete(key);
  }

  private findWhere(match: (payload: Payload) => boolean): Payload | undefined {
    for (const key of this.store.entries.keys()) {
      if (!key.startsWith(`${this.model}:`)) continue;
      const payload = this.store.live(key);
      if (payload && match(payload)) return payload;
    }
    return undefined;
  }
}
