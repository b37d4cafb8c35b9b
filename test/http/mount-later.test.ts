import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/context.js';
import { mountLater } from '../../src/http/mount-later.js';

/** An outer app shaped like the server's: variables set first, the route read after, its own 404 and onError. */
function outerApp(load: () => Promise<Hono<AppEnv>>) {
  const seen: { route?: string; status?: number }[] = [];
  const errors: { message: string; requestId?: string }[] = [];
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    await next();
    seen.push({ route: c.get('route') ?? routePath(c), status: c.res.status });
  });
  app.use('*', async (c, next) => {
    c.set('requestId', c.req.header('x-test-id') ?? 'none');
    await next();
  });
  app.get('/eager', (c) => c.text('eager'));
  mountLater(app, '/late', load);
  app.notFound((c) => c.json({ error: 'not_found', path: c.req.path }, 404));
  app.onError((err, c) => {
    errors.push({ message: err.message, requestId: c.get('requestId') });
    return c.json({ error: 'server_error', request: c.get('requestId') }, 500);
  });
  return { app, seen, errors };
}

function subApp(): Hono<AppEnv> {
  const sub = new Hono<AppEnv>();
  sub.get('/', (c) => c.text('root'));
  sub.get('/items/:id', (c) => c.json({ id: c.req.param('id'), requestId: c.get('requestId') }));
  sub.post('/echo', async (c) => c.json(await c.req.json()));
  sub.get('/fails', (c) => {
    c.header('Set-Cookie', 'flow=; Max-Age=0; Path=/late');
    c.header('Set-Cookie', 'other=; Max-Age=0; Path=/late', { append: true });
    throw new Error('sub failed');
  });
  sub.use('/limited/*', bodyLimit({ maxSize: 1000 }));
  return sub;
}

describe('mountLater: a sub-app built on its first request (#16)', () => {
  it('builds the sub-app once, on the first request under its path, even for concurrent first requests', async () => {
    let loads = 0;
    const { app } = outerApp(async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return subApp();
    });
    expect(await (await app.request('/eager')).text()).toBe('eager');
    expect(loads).toBe(0);
    const answers = await Promise.all([1, 2, 3, 4].map((i) => app.request(`/late/items/${i}`)));
    expect(loads).toBe(1);
    expect(await Promise.all(answers.map((r) => r.json()))).toEqual(
      [1, 2, 3, 4].map((i) => ({ id: String(i), requestId: 'none' })),
    );
    expect(await (await app.request('/late')).text()).toBe('root');
    expect(loads).toBe(1);
  });

  it('answers within the outer request: its variables, the matched route, a body, the outer 404', async () => {
    const { app, seen } = outerApp(async () => subApp());
    const item = await app.request('/late/items/7', { headers: { 'x-test-id': 'req-7' } });
    expect(await item.json()).toEqual({ id: '7', requestId: 'req-7' });
    expect(item.headers.get('x-request-id')).toBe('req-7');
    expect(item.headers.get('x-content-type-options')).toBe('nosniff');
    const echo = await app.request('/late/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: [1, 2] }),
    });
    expect(await echo.json()).toEqual({ a: [1, 2] });
    const unknown = await app.request('/late/nothing/here');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'not_found', path: '/late/nothing/here' });
    // A body without Content-Length: bodyLimit gives the sub-app's request a new Request object.
    const streamed = await app.request('/late/limited/nothing', {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('x=1'));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(404);
    expect(await streamed.json()).toEqual({ error: 'not_found', path: '/late/limited/nothing' });
    const head = await app.request('/late/items/8', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(seen).toEqual([
      { route: '/late/items/:id', status: 200 },
      { route: '/late/echo', status: 200 },
      { route: '/*', status: 404 },
      { route: '/late/limited/*', status: 404 },
      { route: '/late/items/:id', status: 200 },
    ]);
  });

  it("sends the sub-app's errors to the outer onError, with the outer request's context and the headers set before", async () => {
    const { app, errors, seen } = outerApp(async () => subApp());
    const res = await app.request('/late/fails', { headers: { 'x-test-id': 'req-f' } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'server_error', request: 'req-f' });
    expect(res.headers.getSetCookie()).toEqual([
      'flow=; Max-Age=0; Path=/late',
      'other=; Max-Age=0; Path=/late',
    ]);
    expect(errors).toEqual([{ message: 'sub failed', requestId: 'req-f' }]);
    expect(seen).toEqual([{ route: '/late/fails', status: 500 }]);
  });

  it('answers a failed load through the outer onError and tries again on the next request', async () => {
    let loads = 0;
    const { app, errors } = outerApp(async () => {
      if (++loads === 1) throw new Error('load failed');
      return subApp();
    });
    const first = await app.request('/late/items/1', { headers: { 'x-test-id': 'req-1' } });
    expect(first.status).toBe(500);
    expect(errors).toEqual([{ message: 'load failed', requestId: 'req-1' }]);
    const second = await app.request('/late/items/2');
    expect(second.status).toBe(200);
    expect(loads).toBe(2);
  });
});
