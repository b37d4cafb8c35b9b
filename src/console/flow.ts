import type { Context } from 'hono';
import type { Deps } from '../http/context.js';
import type { CookieName, Cookies } from '../http/cookies.js';
import { decrypt, encrypt } from '../keys/encryption.js';
import { endpointUrl } from '../protocol/issuer.js';
import { verifyJwt } from '../tokens/jwt.js';
import { randomToken, sha256 } from '../util/crypto.js';
import type { ServerFetch } from './management.js';

/** What a code flow of the console remembers between /authorize and its callback. */
export interface PendingFlow {
  state: string;
  nonce: string;
  verifier: string;
}

/** A fresh state, nonce and PKCE verifier (RFC 7636), and the S256 challenge of the verifier. */
export function newFlow(): PendingFlow & { challenge: string } {
  const verifier = randomToken(32);
  return { state: randomToken(16), nonce: randomToken(16), verifier, challenge: sha256(verifier) };
}

/** Keeps `value` in an encrypted HttpOnly cookie for 15 minutes. */
export function seal(deps: Deps, cookies: Cookies, c: Context, name: CookieName, value: PendingFlow): void {
  cookies.set(c, name, encrypt(deps.encryptionKey, JSON.stringify(value), `console:${name}`), 900);
}

/** The sealed value of the cookie (cleared as it is read), when it is there and this callback's state matches. */
export function unseal<T extends PendingFlow>(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  name: CookieName,
): T | null {
  const sealed = cookies.get(c, name);
  cookies.clear(c, name);
  try {
    const value = sealed ? (JSON.parse(decrypt(deps.encryptionKey, sealed, `console:${name}`)) as T) : null;
    return value && c.req.query('state') === value.state ? value : null;
  } catch {
    return null;
  }
}

/** The token endpoint's answer to a code exchange. */
export interface CodeTokens {
  access_token?: string;
  id_token?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
  /** The verified ID token's claims, when its signature and nonce hold. */
  claims?: Record<string, unknown>;
}

/**
 * Exchanges a code at Sesame's own token endpoint (in-process, as any client would) and checks
 * the ID token against the keys and the nonce of the flow.
 */
export async function exchangeCode(
  deps: Deps,
  fetch: ServerFetch,
  flow: PendingFlow,
  req: { code: string; redirectUri: string; clientId: string; secret?: string | undefined },
): Promise<CodeTokens> {
  const res = await fetch(
    new Request(endpointUrl(deps.config.issuer, '/oauth/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: req.code,
        redirect_uri: req.redirectUri,
        code_verifier: flow.verifier,
        client_id: req.clientId,
        ...(req.secret ? { client_secret: req.secret } : {}),
      }),
    }),
  );
  const tokens = (await res.json()) as CodeTokens;
  if (tokens.id_token) {
    const claims = verifyJwt(tokens.id_token, (kid) => deps.keys.verifier(kid))?.payload;
    if (claims && claims.nonce === flow.nonce) tokens.claims = claims;
  }
  return tokens;
}
