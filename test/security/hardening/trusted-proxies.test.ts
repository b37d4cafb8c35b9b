// Issue #14 §1: behind a proxy, every person shared the proxy's address, so failed logins from
// anyone locked every password login. With SESAME_TRUSTED_PROXIES, a request whose socket peer is
// a trusted proxy is counted by the client address its X-Forwarded-For (or Forwarded) gives:
// the right-most entry that is not a trusted proxy. Any other peer's headers are ignored, and
// IPv6 clients are counted per /64. Through the password grant of a real process; each test
// uses its own source address on 127/8 as the proxy or the client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../../e2e/process.js';
import type { Credentials } from '../../protocol/sign-in/agent.js';
import { describeEachBackend } from '../../support/databases.js';
import { type Client, launch, newApp, newUser, postForm, type Sesame } from '../rules/server.js';

const IP_FAILURES = 3;
const PROXY = '127.0.0.20';
const SECOND_PROXY = '127.0.0.21';

afterAll(() => killAll());

describeEachBackend('hardening: client addresses behind trusted proxies (#14 §1)', (backend) => {
  let s: Sesame;
  let app: Client;
  let people: Credentials[];
  let next = 0;
  /** A person no other test used, so that only the per-address count can lock them out. */
  const person = () => people[next++] as Credentials;

  beforeAll(async () => {
    s = await launch(backend, {
      env: { SESAME_TRUSTED_PROXIES: `${PROXY}/32, ${SECOND_PROXY}` },
      config: { login: { accountFailures: 50, ipFailures: IP_FAILURES, window: 600, lockSeconds: 600 } },
    });
    app = await newApp(s, 'web', ['--callback', 'https://app.example/cb', '--grant', 'password']);
    people = await Promise.all(Array.from({ length: 30 }, () => newUser(s)));
  });
  afterAll(async () => s?.stop());

  /** A password grant from socket address `peer`, with `headers`; the answer's status. */
  async function attempt(peer: string, headers: Record<string, string>, creds: Credentials, right: boolean) {
    const res = await postForm(
      s,
      '/oauth/token',
      {
        grant_type: 'password',
        client_id: app.clientId,
        client_secret: app.clientSecret as string,
        username: creds.email,
        password: right ? creds.password : 'not the password',
        scope: 'openid',
      },
      { localAddress: peer, headers },
    );
    return res.status;
  }
  /** Spends the per-address allowance of the client that `peer` + `headers` stand for. */
  async function exhaust(peer: string, headers: Record<string, string>) {
    for (let i = 0; i < IP_FAILURES; i++) expect(await attempt(peer, headers, person(), false)).toBe(400);
  }

  it('through a trusted proxy, clients are counted apart: one locked client does not lock another', async () => {
    await exhaust(PROXY, { 'x-forwarded-for': '198.51.100.1' });
    expect(await attempt(PROXY, { 'x-forwarded-for': '198.51.100.1' }, person(), true)).toBe(429);
    expect(await attempt(PROXY, { 'x-forwarded-for': '198.51.100.2' }, person(), true)).toBe(200);
    // without the header, the proxy itself is the client, with its own count
    expect(await attempt(PROXY, {}, person(), true)).toBe(200);
  });

  it('the right-most entry that is not a trusted proxy counts; entries to its left (client-made) do not', async () => {
    const via = (left: string) => ({ 'x-forwarded-for': `${left}, 198.51.100.3, ${SECOND_PROXY}` });
    await exhaust(PROXY, via('203.0.113.1'));
    // a different spoofed left part is the same client: still locked
    expect(await attempt(PROXY, via('203.0.113.99'), person(), true)).toBe(429);
  });

  it('Forwarded (RFC 7239) is read too, with quoted IPv6 and ports', async () => {
    const fwd = (addr: string) => ({ forwarded: `for="${addr}";proto=https` });
    await exhaust(PROXY, fwd('[2001:db8:5::1]:4711'));
    expect(await attempt(PROXY, fwd('[2001:db8:5::1]'), person(), true)).toBe(429);
    expect(await attempt(PROXY, fwd('198.51.100.50:80'), person(), true)).toBe(200);
  });

  it('IPv6 clients are counted per /64: another address in the same /64 is locked, another /64 is not', async () => {
    await exhaust(PROXY, { 'x-forwarded-for': '2001:db8:1:2::1' });
    expect(await attempt(PROXY, { 'x-forwarded-for': '2001:db8:1:2:ffff::9' }, person(), true)).toBe(429);
    expect(await attempt(PROXY, { 'x-forwarded-for': '2001:db8:1:3::1' }, person(), true)).toBe(200);
  });

  describe('a peer that is not a trusted proxy', () => {
    it('cannot choose its address with X-Forwarded-For: its own socket address is counted', async () => {
      const client = '127.0.0.30';
      for (let i = 0; i < IP_FAILURES; i++) {
        const spoof = { 'x-forwarded-for': `192.0.2.${i + 1}` };
        expect(await attempt(client, spoof, person(), false)).toBe(400);
      }
      expect(await attempt(client, { 'x-forwarded-for': '192.0.2.200' }, person(), true)).toBe(429);
      expect(await attempt(client, {}, person(), true)).toBe(429);
    });
  });
});
