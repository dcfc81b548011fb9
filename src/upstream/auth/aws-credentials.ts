import { fromNodeProviderChain } from '@aws-sdk/credential-providers';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** The AWS SDK's provider shape; `forceRefresh` skips the chain's own memo. */
export type AwsCredentialProvider = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentials>;

const REFRESH_AHEAD_MAX_MS = 5 * 60_000;
const RETRY_AFTER_FAILURE_MS = 1_000;

/**
 * Credentials from the standard AWS chain (env, shared files, web identity, container and instance
 * metadata), held in memory so signing never waits on them: expiring credentials are refreshed in the
 * background ahead of expiry (5 minutes, or half the lifetime when shorter) while the current ones
 * keep signing, and only a caller holding nothing usable waits. Concurrent refreshes share one fetch.
 */
export class AwsCredentialCache {
  private current?: AwsCredentials;
  private refreshAt = 0;
  /** After this the current credentials are too close to expiry to sign with. */
  private usableUntil = 0;
  private retryAt = 0;
  private inflight?: Promise<AwsCredentials>;

  constructor(
    private readonly provider: AwsCredentialProvider = defaultChain(),
    private readonly now: () => number = Date.now,
    private readonly onBackgroundError?: (err: unknown) => void,
  ) {}

  /** The credentials to sign with now: a plain value on the fast path, a promise only when waiting. */
  get(): AwsCredentials | Promise<AwsCredentials> {
    const t = this.now();
    const cur = this.current;
    if (cur && t < this.refreshAt) return cur;
    if (cur && t < this.usableUntil) {
      if (t >= this.retryAt) this.refresh().catch((err) => this.onBackgroundError?.(err));
      return cur;
    }
    return this.refresh();
  }

  private refresh(): Promise<AwsCredentials> {
    this.inflight ??= this.provider({ forceRefresh: true })
      .then(
        (creds) => {
          this.store(creds);
          return creds;
        },
        (err: unknown) => {
          this.retryAt = this.now() + RETRY_AFTER_FAILURE_MS;
          throw err;
        },
      )
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private store(creds: AwsCredentials): void {
    const t = this.now();
    this.current = creds;
    this.retryAt = 0;
    const expires = creds.expiration?.getTime();
    if (expires === undefined) {
      this.refreshAt = Number.POSITIVE_INFINITY;
      this.usableUntil = Number.POSITIVE_INFINITY;
      return;
    }
    const lifetime = Math.max(0, expires - t);
    this.refreshAt = expires - Math.min(REFRESH_AHEAD_MAX_MS, lifetime / 2);
    // A signed request still has to reach AWS before the session token dies.
    this.usableUntil = expires - Math.min(10_000, lifetime / 10);
  }
}

function defaultChain(): AwsCredentialProvider {
  // One chain per process: every SigV4 upstream shares the credentials (and their refreshes).
  shared ??= fromNodeProviderChain() as AwsCredentialProvider;
  return shared;
}
let shared: AwsCredentialProvider | undefined;
