import { createContext, jsx, useContext } from 'hono/jsx';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.js';

const Ctx = createContext('default');
const Now = () => jsx('b', {}, useContext(Ctx));
const Later = async () => {
  await new Promise((resolve) => setTimeout(resolve, 1));
  return jsx('b', {}, useContext(Ctx));
};
const within = (component: () => unknown) =>
  jsx(Ctx.Provider as never, { value: 'provided' }, jsx(component as never, {}));

/**
 * #16: once hono/jsx had run a render in an AsyncLocalStorage, every later promise of the process
 * paid for Node 20's async hooks (client credentials: about 9% more CPU). The server makes
 * hono/jsx choose its synchronous contexts before anything is rendered.
 */
describe('pages are rendered without AsyncLocalStorage', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('sqlite');
  });
  afterAll(() => app.close());

  it('keeps contexts during the synchronous render, and has none to follow after an await', async () => {
    expect(String(within(Now))).toBe('<b>provided</b>');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      // With an AsyncLocalStorage, hono/jsx would find 'provided' here too.
      expect(String(await within(Later).toString())).toBe('<b>default</b>');
    } finally {
      warn.mockRestore();
    }
  });

  it('still renders the pages in the brand', async () => {
    const res = await app.fetch(`${app.issuer}/u/login`);
    expect(res.status).toBeLessThan(500);
    const html = await res.text();
    expect(html).toContain('<p class="brand">');
  });
});
