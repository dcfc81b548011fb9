/** The OAuth2 adapter's timing rules, against a real authorization server in this process and a fake clock. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuth2AuthConfig } from '../../src/config/schema.ts';
import type { OutgoingRequest } from '../../src/upstream/auth/index.ts';
import { OAuth2Auth } from '../../src/upstream/auth/oauth2.ts';
import { AuthServer } from '../../upstreams/lib/auth-server.ts';

let server: AuthServer;
beforeAll(async () => {
  server = await AuthServer.start({ clients: { unit: 'unit-secret-value' }, tokenTtlSeconds: 3600 });
});
afterAll(() => server?.stop());

const config = (over: Partial<OAuth2AuthConfig> = {}): OAuth2AuthConfig => ({
  kind: 'oauth2',
  tokenUrl: server.tokenUrl,
  clientId: 'unit',
  clientSecret: 'unit-secret-value',
  authMethod: 'client_secret_basic',
  ...over,
});
const request = (): OutgoingRequest => ({
  method: 'POST',
  url: new URL('http://127.0.0.1:1/mcp'),
  headers: {},
  body: '{}',
});
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('OAuth2 adapter', () => {
  it('signs synchronously from the cache and refreshes in the background in the last 60 s', async () => {
    let t = Date.now();
    const auth = new OAuth2Auth('u', config(), { now: () => t });
    const start = server.tokenRequests;
    const first = request();
    await auth.sign(first);
    expect(first.headers.authorization).toMatch(/^Bearer ey/);
    const cached = request();
    expect(auth.sign(cached)).toBeUndefined(); // no promise: nothing to wait for
    expect(cached.headers.authorization).toBe(first.headers.authorization);

    t += 3_539_000; // 61 s before expiry: still cached
    expect(auth.sign(request())).toBeUndefined();
    await settle();
    expect(server.tokenRequests - start).toBe(1);

    t += 2_000; // 59 s before expiry: this call goes out with the old token, one refresh runs beside it
    const inWindow = request();
    expect(auth.sign(inWindow)).toBeUndefined();
    expect(inWindow.headers.authorization).toBe(first.headers.authorization);
    await settle();
    expect(server.tokenRequests - start).toBe(2);
    const next = request();
    auth.sign(next);
    expect(next.headers.authorization).not.toBe(first.headers.authorization);
  });

  it('drops a refused token only if it is still the current one', async () => {
    const auth = new OAuth2Auth('u', config());
    const stale = request();
    await auth.sign(stale);
    expect(auth.onUnauthorized(stale)).toBe(true);
    const fresh = request();
    await auth.sign(fresh);
    expect(fresh.headers.authorization).not.toBe(stale.headers.authorization);
    // A late 401 for the old token must not throw the new one away.
    auth.onUnauthorized(stale);
    const again = request();
    expect(auth.sign(again)).toBeUndefined();
    expect(again.headers.authorization).toBe(fresh.headers.authorization);
  });

  it('after a refused token request, fails fast for a second instead of asking again', async () => {
    let t = Date.now();
    const auth = new OAuth2Auth('u', config({ clientSecret: 'not-the-secret' }), { now: () => t });
    const rejected = server.rejected;
    const expected = 'upstream "u": no access token from the authorization server: invalid_client (HTTP 401)';
    await expect(auth.sign(request())).rejects.toMatchObject({
      code: 'UPSTREAM_AUTH_FAILED',
      message: expected,
    });
    await expect(auth.sign(request())).rejects.toMatchObject({ message: expected });
    expect(server.rejected - rejected).toBe(1);
    t += 1_100;
    await expect(auth.sign(request())).rejects.toMatchObject({ message: expected });
    expect(server.rejected - rejected).toBe(2);
  });
});
