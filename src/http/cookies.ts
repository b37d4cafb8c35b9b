import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/**
 * The cookies Sesame sets: the SSO session, the pending interaction, the device, and the
 * console's session, its sign-in in progress and an application's sign-in it is trying.
 */
export type CookieName =
  | 'session'
  | 'interaction'
  | 'console'
  | 'console_signin'
  | 'console_try'
  /** A client secret the console shows once, on the page after the redirect. */
  | 'console_once'
  /** A browser that has signed in before: the lockouts do not shut it out (#14 §2). */
  | 'device'
  /** The double-submit CSRF token of the self-service forms outside a sign-in (#15). */
  | 'csrf';

/**
 * Cookie names and attributes: HttpOnly, SameSite=Lax, Path=/; with an https issuer also
 * Secure and the `__Host-` prefix (RFC 6265bis §4.1.3.2).
 */
export class Cookies {
  private readonly secure: boolean;
  constructor(issuer: string) {
    this.secure = issuer.startsWith('https:');
  }
  private name(name: CookieName): string {
    return this.secure ? `__Host-sesame_${name}` : `sesame_${name}`;
  }
  get(c: Context, name: CookieName): string | undefined {
    return getCookie(c, this.name(name));
  }
  set(c: Context, name: CookieName, value: string, maxAge: number): void {
    setCookie(c, this.name(name), value, {
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      secure: this.secure,
      maxAge,
    });
  }
  clear(c: Context, name: CookieName): void {
    deleteCookie(c, this.name(name), { path: '/', secure: this.secure });
  }
}
