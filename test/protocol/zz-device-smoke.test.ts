import { afterAll, beforeAll, expect, it } from 'vitest';
import { createUser } from '../../src/admin/users.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

describeEachBackend('smoke device + password', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());
  const form = (o: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(o).toString(),
  });
  it('device flow', async () => {
    await createUser(t.rt.storage, t.clock, { email: 'd@example.com', password: 'correct horse' });
    const api = await t.createApi({ allowOfflineAccess: true });
    const app = await t.createApp({ name: 'TV', type: 'native', callbacks: ['com.example.tv:/cb'] });
    let res = await t.fetch(
      `${t.issuer}/oauth/device/code`,
      form({ client_id: app.clientId, scope: 'openid offline_access read:things', audience: api.identifier }),
    );
    const dev = (await res.json()) as Record<string, string | number>;
    expect(res.status, JSON.stringify(dev)).toBe(200);
    expect(dev.user_code).toMatch(/^[B-Z]{4}-[B-Z]{4}$/);
    const poll = () =>
      t.fetch(
        `${t.issuer}/oauth/token`,
        form({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: dev.device_code as string,
          client_id: app.clientId,
        }),
      );
    res = await poll();
    expect(((await res.json()) as { error: string }).error).toBe('authorization_pending');
    res = await poll();
    expect(((await res.json()) as { error: string }).error).toBe('slow_down');
    // the person: login, enter code, allow
    const jar = new Map<string, string>();
    const send = async (url: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
      const r = await t.fetch(new URL(url, t.issuer).toString(), { ...init, headers, redirect: 'manual' });
      for (const c of r.headers.getSetCookie()) {
        const [kv] = c.split(';');
        const [k, v] = (kv as string).split('=');
        if (v) jar.set(k as string, v);
        else jar.delete(k as string);
      }
      return r;
    };
    res = await send(`/activate?user_code=${dev.user_code}`);
    expect(res.headers.get('location')).toBe('/u/login');
    let html = await (await send('/u/login')).text();
    let csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] as string;
    res = await send('/u/login', form({ csrf, email: 'd@example.com', password: 'correct horse' }));
    expect(res.headers.get('location')).toMatch(/^\/activate\?user_code=/);
    html = await (await send(res.headers.get('location') as string)).text();
    csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] as string;
    res = await send(
      '/activate',
      form({ csrf, user_code: (dev.user_code as string).toLowerCase().replace('-', '') }),
    );
    html = await res.text();
    expect(html).toContain('Read things');
    res = await send(
      '/activate/confirm',
      form({ csrf, user_code: dev.user_code as string, decision: 'allow' }),
    );
    expect(await res.text()).toContain('Device connected');
    t.clock.advance(20);
    res = await poll();
    const tokens = (await res.json()) as Record<string, string>;
    expect(res.status, JSON.stringify(tokens)).toBe(200);
    expect(tokens.refresh_token).toBeTruthy();
    res = await poll();
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
  });
  it('password grant', async () => {
    const app = await t.createApp({
      name: 'Legacy',
      type: 'web',
      callbacks: ['https://l.example/cb'],
      grants: ['password'],
    });
    const res = await t.fetch(
      `${t.issuer}/oauth/token`,
      form({
        grant_type: 'password',
        username: 'D@example.com',
        password: 'correct horse',
        scope: 'openid',
        client_id: app.clientId,
        client_secret: app.clientSecret as string,
      }),
    );
    const body = (await res.json()) as Record<string, string>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.id_token).toBeTruthy();
  });
});
