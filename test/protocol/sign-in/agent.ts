import { expect } from 'vitest';
import type { TestApp } from '../../support/app.js';

/** The two cookies Sesame sets on an https issuer. */
export const SESSION_COOKIE = '__Host-sesame_session';
export const INTERACTION_COOKIE = '__Host-sesame_interaction';

/** A redirect to `path` within a sign-in: it names its interaction (`?i=`). */
export const inInteraction = (path: string) =>
  expect.stringMatching(new RegExp(`^${path.replace(/[/?]/g, '\\$&')}\\?i=[\\w-]{1,32}$`));

/** A page of Sesame's own that a sign-in passed through. */
export type PageName = 'login' | 'consent';

/** Who the agent types in on the login page. */
export interface Credentials {
  email: string;
  password: string;
}

/** How the person answers the pages of one sign-in. */
export interface SignInOptions {
  /** Credentials for this sign-in instead of the agent's own. */
  credentials?: Credentials;
  /** The button pressed on the consent page (default allow). */
  consent?: 'allow' | 'deny';
  /** Stop when this page is shown instead of answering it. */
  stopAt?: PageName;
}

/** What one sign-in did. */
export interface SignInResult {
  /** The last response: a redirect to the client, a form_post page, an error page, or a stopped-at page. */
  response: Response;
  /** Where the last response redirects to, when it redirects away from Sesame. */
  location: URL | null;
  /** The pages shown on the way, in order. */
  pages: PageName[];
  /** The HTML of each page shown (the last one of each kind). */
  html: Partial<Record<PageName, string>>;
}

/** The hidden CSRF field of a Sesame form. */
export function csrfOf(html: string): string {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!csrf) throw new Error(`no csrf field in page:\n${html}`);
  return csrf;
}

/** Decodes the HTML entities hono/jsx writes into attribute values. */
/**
 * The names of a page's fields marked invalid (`aria-invalid="true"`), each checked to be
 * described by (`aria-describedby`) an element of the page that has `role="alert"`.
 */
export function invalidFields(html: string): string[] {
  const names: string[] = [];
  for (const [input] of html.matchAll(/<input\b[^>]*>/g)) {
    if (!/\baria-invalid="true"/.test(input)) continue;
    const name = /\bname="([^"]+)"/.exec(input)?.[1] ?? '?';
    const by = /\baria-describedby="([^"]+)"/.exec(input)?.[1];
    const target = by && new RegExp(`<[^>]*\\bid="${by}"[^>]*>`).exec(html)?.[0];
    if (!target || !/\brole="alert"/.test(target))
      throw new Error(`${name} is not described by an alert: ${input}`);
    names.push(name);
  }
  return names;
}

export function unescapeHtml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The `name=value` of a Set-Cookie header, and its attributes (lower-cased names). */
export function parseSetCookie(header: string): { name: string; value: string; attrs: Map<string, string> } {
  const [pair, ...rest] = header.split(';');
  const eq = (pair ?? '').indexOf('=');
  const attrs = new Map<string, string>();
  for (const a of rest) {
    const [k, ...v] = a.trim().split('=');
    attrs.set((k ?? '').toLowerCase(), v.join('='));
  }
  return { name: (pair ?? '').slice(0, eq).trim(), value: (pair ?? '').slice(eq + 1).trim(), attrs };
}

/**
 * A browser for Sesame's own pages: keeps cookies, never follows redirects by itself, and refuses
 * to talk to anything but Sesame (a redirect to a client ends the sign-in).
 */
export class UserAgent {
  /** The cookie jar: name → value. */
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie header received, in order. */
  readonly setCookies: string[] = [];
  private readonly origin: string;

  constructor(
    readonly t: TestApp,
    readonly credentials?: Credentials,
  ) {
    this.origin = new URL(t.issuer).origin;
  }

  /** Sends a request to Sesame with the jar's cookies and stores the cookies it sets. */
  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url, this.t.issuer);
    if (target.origin !== this.origin) throw new Error(`the agent only talks to Sesame, not ${target}`);
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await this.t.fetch(target.toString(), { ...init, headers, redirect: 'manual' });
    for (const header of res.headers.getSetCookie()) {
      this.setCookies.push(header);
      const { name, value, attrs } = parseSetCookie(header);
      if (value === '' || attrs.get('max-age') === '0') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get(url: string | URL): Promise<Response> {
    return this.request(url);
  }

  /** POSTs an HTML form (application/x-www-form-urlencoded). */
  post(url: string | URL, fields: Record<string, string>): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Where a 303 from Sesame points, resolved against the issuer. */
  private locationOf(res: Response): URL | null {
    if (res.status < 300 || res.status > 399) return null;
    const loc = res.headers.get('location');
    return loc === null ? null : new URL(loc, this.t.issuer);
  }

  /**
   * Opens an authorization URL and goes through what Sesame shows: the login page (typing the
   * credentials) and the consent page (pressing Allow or Deny), until Sesame sends the browser
   * away to the client, or answers with a page that is neither (form_post, error).
   */
  async signIn(url: string | URL, opts: SignInOptions = {}): Promise<SignInResult> {
    const pages: PageName[] = [];
    const html: Partial<Record<PageName, string>> = {};
    let res = await this.get(url);
    for (let hops = 0; hops < 12; hops++) {
      const next = this.locationOf(res);
      if (!next) return { response: res, location: null, pages, html };
      if (next.origin !== this.origin) return { response: res, location: next, pages, html };
      if (next.pathname === '/u/login' || next.pathname === '/u/consent') {
        const name: PageName = next.pathname === '/u/login' ? 'login' : 'consent';
        const page = await this.get(next);
        const text = await page.text();
        if (page.status !== 200) throw new Error(`${name} page answered ${page.status}:\n${text}`);
        pages.push(name);
        html[name] = text;
        if (opts.stopAt === name) {
          return {
            response: new Response(text, { status: 200, headers: page.headers }),
            location: null,
            pages,
            html,
          };
        }
        if (name === 'login') {
          const creds = opts.credentials ?? this.credentials;
          if (!creds) throw new Error('the login page was shown but the agent has no credentials');
          res = await this.post('/u/login', {
            csrf: csrfOf(text),
            email: creds.email,
            password: creds.password,
          });
          if (res.status !== 303) throw new Error(`login answered ${res.status}:\n${await res.text()}`);
        } else {
          res = await this.post('/u/consent', { csrf: csrfOf(text), decision: opts.consent ?? 'allow' });
        }
        continue;
      }
      res = await this.get(next);
    }
    throw new Error('too many redirects inside Sesame');
  }
}
