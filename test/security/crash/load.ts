// A bounded mixed load against one Sesame process, and the ledger of every answer the clients saw.
// Clients behave as real ones do: they log in, exchange codes, refresh with the newest token,
// revoke, and get client-credentials tokens; a request that got no answer (the process was
// killed under it) is "unknown": it may or may not have happened, and no claim is made about it.
// Everything answered is checked afterwards, over HTTP and in the rows.
import { runCliJson } from '../../e2e/process.js';
import type { Credentials } from '../../protocol/sign-in/agent.js';
import {
  type Answer,
  type ClientCreds,
  decodeJwt,
  type Env,
  exchangeFields,
  type Fixtures,
  isActive,
  type Node,
  postForm,
  sha256,
  show,
  signInForCode,
  userParams,
} from '../instances/harness.js';
import type { Sql } from './db.js';

/** What a client knows of one of its requests. */
export type Known = 'none' | 'acked' | 'unknown';

/** An access token that came back with 200. */
export interface IssuedAccess {
  token: string;
  jti: string;
  /** Whether the client revoked it itself. */
  revoke: Known;
  grant?: GrantLedger;
}

/** A refresh token that came back with 200, and whether the client used it. */
export interface IssuedRefresh {
  token: string;
  use: Known;
  /** Date.now() when the rotation was answered 200. */
  usedAt?: number;
}

/** One sign-in: its code and everything the exchange and the refreshes returned. */
export interface GrantLedger {
  code: string;
  verifier: string;
  exchange: Known;
  access: IssuedAccess[];
  refresh: IssuedRefresh[];
  /** Whether the client revoked the grant (through its newest refresh token). */
  revoke: Known;
}

/** Every answer of one load round. */
export class Ledger {
  readonly clientAccess: IssuedAccess[] = [];
  readonly grants: GrantLedger[] = [];
  /** Wrong answers while the process was up: each is a failure. */
  readonly unexpected: string[] = [];
  readonly counts = {
    logins: 0,
    exchanges: 0,
    refreshes: 0,
    clientCredentials: 0,
    revocations: 0,
    admin: 0,
    lost: 0,
  };

  get accessTokens(): IssuedAccess[] {
    return [...this.clientAccess, ...this.grants.flatMap((g) => g.access)];
  }
}

/** What the loops run against and when they stop. */
export interface LoadContext {
  node: Node;
  f: Fixtures & { users: Credentials[] };
  env: Env;
  ledger: Ledger;
  /** True once the process was killed, or the load's time is up. */
  stopped(): boolean;
  /** True once the kill was sent: network errors from then on are expected. */
  killed(): boolean;
}

type Attempt = { answer: Answer } | { lost: string };

/** Sends one request; a network error (no answer) is `lost`. */
async function attempt(ctx: LoadContext, what: string, send: () => Promise<Answer>): Promise<Attempt> {
  try {
    return { answer: await send() };
  } catch (err) {
    ctx.ledger.counts.lost++;
    if (!ctx.killed())
      ctx.ledger.unexpected.push(`${what}: no answer before the kill: ${(err as Error).message}`);
    return { lost: (err as Error).message };
  }
}

const wrong = (ctx: LoadContext, what: string, a: Answer) => {
  if (!ctx.killed()) ctx.ledger.unexpected.push(`${what}: ${show(a)}`);
};

const jtiOf = (token: string) => decodeJwt(token).payload.jti as string;

/** A client-credentials client: gets tokens, revokes every third one. */
export async function clientCredentialsLoop(ctx: LoadContext): Promise<void> {
  const { node, f, ledger } = ctx;
  for (let i = 0; !ctx.stopped(); i++) {
    const got = await attempt(ctx, 'client_credentials', () =>
      postForm(node.base, '/oauth/token', { grant_type: 'client_credentials' }, f.m2m),
    );
    if ('lost' in got) return;
    if (got.answer.status !== 200) {
      wrong(ctx, 'client_credentials', got.answer);
      continue;
    }
    ledger.counts.clientCredentials++;
    const token = got.answer.body?.access_token as string;
    const issued: IssuedAccess = { token, jti: jtiOf(token), revoke: 'none' };
    ledger.clientAccess.push(issued);
    if (i % 3 === 2) {
      issued.revoke = 'unknown';
      const r = await attempt(ctx, 'revoke access token', () =>
        postForm(node.base, '/oauth/revoke', { token }, f.m2m),
      );
      if ('lost' in r) return;
      if (r.answer.status !== 200) wrong(ctx, 'revoke access token', r.answer);
      else {
        issued.revoke = 'acked';
        ledger.counts.revocations++;
      }
    }
  }
}

/**
 * A person signing in to the web app again and again (a fresh browser each time, so every
 * round logs in), the app exchanging the code, refreshing 0–3 times with the newest refresh
 * token, then revoking the grant, or its newest access token, or nothing.
 */
export async function userLoop(ctx: LoadContext, creds: Credentials): Promise<void> {
  const { node, f, ledger } = ctx;
  for (let round = 0; !ctx.stopped(); round++) {
    let code: string;
    let verifier: string;
    try {
      ({ code, verifier } = await signInForCode(
        node.agent(creds),
        node.issuer,
        f.web.clientId,
        userParams(f.api),
      ));
    } catch (err) {
      ledger.counts.lost++;
      if (!ctx.killed()) ledger.unexpected.push(`sign-in: ${(err as Error).message}`);
      return;
    }
    ledger.counts.logins++;
    const g: GrantLedger = { code, verifier, exchange: 'unknown', access: [], refresh: [], revoke: 'none' };
    ledger.grants.push(g);
    const ex = await attempt(ctx, 'code exchange', () =>
      postForm(node.base, '/oauth/token', exchangeFields(code, verifier), f.web),
    );
    if ('lost' in ex) return;
    if (ex.answer.status !== 200) {
      g.exchange = 'none';
      wrong(ctx, 'code exchange', ex.answer);
      continue;
    }
    g.exchange = 'acked';
    ledger.counts.exchanges++;
    const add = (a: Answer) => {
      const token = a.body?.access_token as string;
      g.access.push({ token, jti: jtiOf(token), revoke: 'none', grant: g });
      g.refresh.push({ token: a.body?.refresh_token as string, use: 'none' });
    };
    add(ex.answer);
    const refreshes = (round + Math.floor(Math.random() * 4)) % 4;
    for (let k = 0; k < refreshes && !ctx.stopped(); k++) {
      const newest = g.refresh[g.refresh.length - 1] as IssuedRefresh;
      newest.use = 'unknown';
      const r = await attempt(ctx, 'refresh', () =>
        postForm(
          node.base,
          '/oauth/token',
          { grant_type: 'refresh_token', refresh_token: newest.token },
          f.web,
        ),
      );
      if ('lost' in r) return;
      if (r.answer.status !== 200 || typeof r.answer.body?.refresh_token !== 'string') {
        newest.use = 'none';
        wrong(ctx, 'refresh', r.answer);
        break;
      }
      newest.use = 'acked';
      newest.usedAt = Date.now();
      ledger.counts.refreshes++;
      add(r.answer);
    }
    if (ctx.stopped()) continue;
    const action = Math.floor(Math.random() * 3);
    if (action === 0) {
      const newest = g.refresh[g.refresh.length - 1] as IssuedRefresh;
      g.revoke = 'unknown';
      const r = await attempt(ctx, 'revoke refresh token', () =>
        postForm(
          node.base,
          '/oauth/revoke',
          { token: newest.token, token_type_hint: 'refresh_token' },
          f.web,
        ),
      );
      if ('lost' in r) return;
      if (r.answer.status !== 200) wrong(ctx, 'revoke refresh token', r.answer);
      else {
        g.revoke = 'acked';
        ledger.counts.revocations++;
      }
    } else if (action === 1) {
      const newest = g.access[g.access.length - 1] as IssuedAccess;
      newest.revoke = 'unknown';
      const r = await attempt(ctx, 'revoke access token', () =>
        postForm(node.base, '/oauth/revoke', { token: newest.token }, f.web),
      );
      if ('lost' in r) return;
      if (r.answer.status !== 200) wrong(ctx, 'revoke access token', r.answer);
      else {
        newest.revoke = 'acked';
        ledger.counts.revocations++;
      }
    }
  }
}

/**
 * An operator at the CLI meanwhile (its own process, not killed): registers an m2m application,
 * authorizes it for the API, deletes it again (client_grants go with it).
 */
export async function adminLoop(ctx: LoadContext): Promise<void> {
  while (!ctx.stopped()) {
    try {
      const app = await runCliJson<{ client_id: string }>(
        ['apps', 'create', '--name', 'Churn', '--type', 'm2m'],
        ctx.env,
      );
      await runCliJson(
        ['apps', 'authorize', app.client_id, '--api', ctx.f.api, '--scope', 'read:orders'],
        ctx.env,
      );
      if (Math.random() < 0.7) await runCliJson(['apps', 'delete', '--', app.client_id], ctx.env);
      ctx.ledger.counts.admin++;
    } catch (err) {
      ctx.ledger.unexpected.push(`cli: ${(err as Error).message}`);
      return;
    }
  }
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** The newest time a refresh token was rotated with 200 in `ledger` (ms), or 0. */
export const lastRotation = (ledger: Ledger) =>
  Math.max(0, ...ledger.grants.flatMap((g) => g.refresh.map((r) => r.usedAt ?? 0)));

/**
 * After the restart, what the clients were told must still be true (every mismatch as a line):
 * tokens answered 200 are active unless revoked by the client; revocations answered 200 hold
 * (a revoked grant takes its access and refresh tokens with it); the newest refresh token of a
 * live grant is active; a refresh token rotated with 200 is inactive once past the grace.
 */
export async function checkAnswers(
  node: Node,
  clients: { m2m: ClientCreds; web: ClientCreds },
  ledger: Ledger,
  checked = { tokens: 0 },
): Promise<string[]> {
  const out: string[] = [];
  // Each token is asked about by its own client: only it may introspect it (#14 §3).
  const expectations: { token: string; active: boolean; what: string; as: ClientCreds }[] = [];
  for (const a of ledger.accessTokens) {
    const grant = a.grant?.revoke ?? 'none';
    if (a.revoke === 'unknown' || grant === 'unknown') continue;
    const revoked = a.revoke === 'acked' || grant === 'acked';
    expectations.push({
      token: a.token,
      active: !revoked,
      what: `access token ${a.jti} (${a.grant ? 'code flow' : 'client credentials'}; revoked: ${revoked})`,
      as: a.grant ? clients.web : clients.m2m,
    });
  }
  for (const g of ledger.grants) {
    if (g.exchange !== 'acked' || g.revoke === 'unknown') continue;
    g.refresh.forEach((r, i) => {
      const what = `refresh token #${i} of code ${g.code.slice(0, 8)}`;
      if (g.revoke === 'acked')
        expectations.push({
          token: r.token,
          active: false,
          what: `${what} (grant revoked)`,
          as: clients.web,
        });
      else if (r.use === 'acked')
        expectations.push({ token: r.token, active: false, what: `${what} (rotated)`, as: clients.web });
      else if (r.use === 'none')
        expectations.push({ token: r.token, active: true, what: `${what} (newest)`, as: clients.web });
    });
  }
  await pool(expectations, 8, async (e) => {
    checked.tokens++;
    try {
      const active = await isActive(node.base, e.as, e.token);
      if (active !== e.active)
        out.push(`${e.what}: introspection says active=${active}, expected ${e.active}`);
    } catch (err) {
      out.push(`${e.what}: ${(err as Error).message}`);
    }
  });
  return out;
}

/** What was acknowledged is in the rows (every mismatch as a line). */
export async function checkRows(sql: Sql, ledger: Ledger): Promise<string[]> {
  const out: string[] = [];
  const one = async (query: string, param: string) => (await sql.all(query, [param]))[0];
  for (const g of ledger.grants) {
    if (g.exchange !== 'acked') continue;
    const code = await one(
      'select consumed_at, grant_id from authorization_codes where hash = ?',
      sha256(g.code),
    );
    if (!code) out.push(`code ${g.code.slice(0, 8)}: exchanged with 200 but not stored`);
    else if (code.consumed_at === null)
      out.push(`code ${g.code.slice(0, 8)}: exchanged with 200 but consumed_at is null`);
    for (const a of g.access) {
      // alone in grant_tokens, or on the row of the refresh token issued beside it
      const row =
        (await one('select grant_id from grant_tokens where jti = ?', a.jti)) ??
        (await one('select grant_id from refresh_tokens where access_jti = ?', a.jti));
      if (!row) out.push(`access token ${a.jti}: issued with 200 but not recorded under its grant`);
    }
    for (const r of g.refresh) {
      const row = await one(
        'select rotated_at, revoked_at from refresh_tokens where hash = ?',
        sha256(r.token),
      );
      if (!row) out.push(`refresh token of code ${g.code.slice(0, 8)}: issued with 200 but not stored`);
      else {
        if (r.use === 'acked' && row.rotated_at === null)
          out.push('refresh token rotated with 200 but rotated_at is null');
        if (g.revoke === 'acked' && row.revoked_at === null)
          out.push('refresh token revoked with 200 but revoked_at is null');
      }
    }
  }
  for (const a of ledger.accessTokens) {
    if (a.revoke !== 'acked') continue;
    if (!(await one('select jti from revoked_tokens where jti = ?', a.jti)))
      out.push(`access token ${a.jti}: revoked with 200 but not in revoked_tokens`);
  }
  return out;
}

/**
 * Replays after the crash (they change state, so they come last): a code exchanged with 200 is
 * refused (invalid_grant), and so is a refresh token rotated with 200, past the grace.
 */
export async function checkReplays(node: Node, f: Fixtures, ledger: Ledger): Promise<string[]> {
  const out: string[] = [];
  const expectRefused = (what: string, a: Answer) => {
    if (a.status !== 400 || a.body?.error !== 'invalid_grant') out.push(`${what}: ${show(a)}`);
  };
  const grants = ledger.grants.filter((g) => g.exchange === 'acked');
  await pool(grants, 4, async (g) => {
    // the right verifier: a code that was not kept consumed would be answered 200
    const replay = await postForm(node.base, '/oauth/token', exchangeFields(g.code, g.verifier), f.web);
    expectRefused(`replay of code ${g.code.slice(0, 8)}`, replay);
    for (const r of g.refresh) {
      if (r.use !== 'acked') continue;
      const reuse = await postForm(
        node.base,
        '/oauth/token',
        { grant_type: 'refresh_token', refresh_token: r.token },
        f.web,
      );
      expectRefused(`reuse of a refresh token rotated with 200 (code ${g.code.slice(0, 8)})`, reuse);
    }
  });
  return out;
}
