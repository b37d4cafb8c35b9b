import type { Context, MiddlewareHandler } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { type Brand, brandOf, DEFAULT_BRAND } from '../admin/branding.js';
import type { TenantSettingsReader } from '../admin/settings.js';
import { httpOrigin } from '../protocol/origins.js';
import { Branded } from '../ui/layout.js';
import { randomToken } from '../util/crypto.js';
import { merged } from '../util/merged.js';
import type { AppEnv } from './context.js';

/**
 * Headers on every HTML page: a strict CSP (nonce for the page's own style and script, no
 * framing unless `frameAncestors` names who may), X-Frame-Options DENY when no one may frame
 * it, Referrer-Policy no-referrer, Cache-Control no-store.
 */
export function pageHeaders(
  nonce: string,
  formAction = "'self'",
  frameAncestors = "'none'",
  imageOrigin?: string,
): Record<string, string> {
  const img = imageOrigin ? `; img-src ${imageOrigin}` : '';
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'${img}; form-action ${formAction}; frame-ancestors ${frameAncestors}; base-uri 'none'`,
    ...(frameAncestors === "'none'" ? { 'X-Frame-Options': 'DENY' } : {}),
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
  };
}

/**
 * Renders a page made by `render(nonce)` with the page headers, in the tenant's brand (set on
 * the request by `brandPages`); the CSP lets images load from the logo's origin only.
 */
export function page(
  c: Context,
  render: (nonce: string) => JSX.Element,
  status = 200,
  extra: Record<string, string> = {},
  formAction?: string,
  frameAncestors?: string,
): Response {
  const nonce = randomToken(16);
  const brand = (c.get('brand') as Brand | undefined) ?? DEFAULT_BRAND;
  const html = `<!doctype html>${Branded({ brand, render: () => render(nonce) }).toString()}`;
  const logo = brand.logoUrl ? new URL(brand.logoUrl).origin : undefined;
  return c.newResponse(
    html,
    status as 200,
    merged(pageHeaders(nonce, formAction, frameAncestors, logo), extra),
  );
}

/** An error shown to the person on Sesame's own error page, never sent to a client's redirect_uri. */
/** A link of a page: where to go from it. */
export type PageLink = { href: string; text: string };

export class PageError extends Error {
  constructor(
    readonly title: string,
    message: string,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
    /** Where to go from here (links under the message). */
    readonly link?: PageLink | PageLink[],
  ) {
    super(message);
  }
}

/**
 * The CSP `form-action` source that lets a form's redirect reach `uri`: its origin for http(s),
 * its scheme for a native app's private-use scheme (whose origin is opaque).
 */
export function formActionSource(uri: string): string {
  return httpOrigin(uri) ?? new URL(uri).protocol;
}

/** Middleware for the routes that render pages: the tenant's brand, read from the settings cache. */
export function brandPages(tenant: TenantSettingsReader): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('brand', brandOf(await tenant.get()));
    await next();
  };
}
