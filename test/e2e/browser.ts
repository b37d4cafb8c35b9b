import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { childEnv, ROOT } from './process.js';

/** Debian's Chromium, never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Launches headless Chromium with no background traffic of its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A running examples/web-app/server.mjs. */
export interface ExampleApp {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGKILL if still running; resolves when it has exited. */
  kill(): Promise<void>;
}

/**
 * Starts the example relying party on `port`, reachable at `url`, and waits until it answers
 * (it runs OpenID discovery against Sesame first, so Sesame must be up).
 */
export async function startExampleApp(env: {
  issuer: string;
  clientId: string;
  clientSecret: string;
  port: number;
  url: string;
  scope: string;
  audience?: string;
}): Promise<ExampleApp> {
  const child = spawn(process.execPath, [join(ROOT, 'examples', 'web-app', 'server.mjs')], {
    env: childEnv({
      SESAME_ISSUER: env.issuer,
      CLIENT_ID: env.clientId,
      CLIENT_SECRET: env.clientSecret,
      PORT: String(env.port),
      APP_URL: env.url,
      SCOPE: env.scope,
      AUDIENCE: env.audience,
    }),
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  let exited = false;
  const done = new Promise<void>((resolve) => {
    child.once('close', () => {
      exited = true;
      resolve();
    });
  });
  const app: ExampleApp = {
    url: env.url,
    child,
    output: () => out,
    async kill() {
      if (!exited) child.kill('SIGKILL');
      await done;
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`example app on ${env.url} exited before it was ready\n${out}`);
    try {
      const res = await fetch(`${env.url}/`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return app;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await app.kill();
      throw new Error(`example app on ${env.url} was not ready within 20 s\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Everything the page loaded or refers to that is not inline: fetched resources (Resource
 * Timing), elements with src/href/data/srcset, and url(…) in its style sheets. Run in the page
 * (as a string, since this project compiles without DOM types).
 */
const RESOURCES_SCRIPT = `(() => {
  const out = performance.getEntriesByType('resource').map((e) => 'fetched ' + e.name);
  for (const el of document.querySelectorAll('[src], [srcset], link[href], object[data], use[href]')) {
    out.push('element <' + el.tagName.toLowerCase() + '> ' + el.outerHTML.slice(0, 200));
  }
  for (const sheet of document.styleSheets) {
    if (sheet.href) {
      out.push('stylesheet ' + sheet.href);
      continue; // a foreign sheet's rules cannot be read, and it is reported already
    }
    for (const rule of sheet.cssRules) {
      if (/url\\(|@import/i.test(rule.cssText)) out.push('css ' + rule.cssText.slice(0, 200));
    }
  }
  return out;
})()`;

/** The page's external resources (none is the expected answer for Sesame's pages). */
export function externalResources(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(RESOURCES_SCRIPT);
}

/** The visible text of the page, for failure messages. */
export async function describePage(page: Page): Promise<string> {
  const text = await page
    .locator('body')
    .innerText({ timeout: 2_000 })
    .catch(() => '(no body)');
  return `at ${page.url()}:\n${text.slice(0, 2_000)}`;
}

/**
 * Waits until `selector` is visible; fails at once when text matching `failure` shows instead
 * (e.g. the example app's "sign-in failed: …"), and on timeout with the page's address and text
 * (and `context`, e.g. child-process logs) instead of a bare timeout.
 */
export async function waitVisible(
  page: Page,
  selector: string,
  what: string,
  context: () => string = () => '',
  failure: RegExp = /^sign-in failed/,
  timeoutMs = 15_000,
): Promise<void> {
  const wanted = page.locator(selector).first();
  const failed = page.getByText(failure).first();
  try {
    await wanted.or(failed).first().waitFor({ state: 'visible', timeout: timeoutMs });
  } catch (err) {
    throw new Error(
      `${what}: ${selector} did not appear (${(err as Error).message.split('\n')[0]})\n` +
        `${await describePage(page)}\n${context()}`,
    );
  }
  if (!(await wanted.isVisible())) {
    throw new Error(`${what}: the page shows a failure instead of ${selector}\n${await describePage(page)}`);
  }
}

/** A script or page a test serves to Chromium. */
export interface ServedFile {
  type: 'html' | 'js';
  body: string | Buffer;
}

/**
 * Serves fixed files on 127.0.0.1:`port` (a single-page application's origin in a test):
 * `files` by path, HTML without caching; anything else 404. Closed by `close()`.
 */
export async function serveFiles(
  port: number,
  files: Record<string, ServedFile>,
): Promise<{ close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://localhost').pathname];
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: Record<string, string> =
      file.type === 'html'
        ? { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }
        : { 'content-type': 'text/javascript; charset=utf-8' };
    res.writeHead(200, headers).end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
