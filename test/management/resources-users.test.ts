import { beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { ok, resourcesApp } from './resources-fixture.js';
import { type Call, expectError, expectStatus, ISO_TIME, unique } from './support.js';

describeEachBackend('Management API: resources (users)', (backend) => {
  const env = resourcesApp(backend);
  let t: TestApp;
  let call: Call;

  beforeAll(() => {
    ({ t, call } = env);
  });

  describe('users', () => {
    const tag = unique('u');
    const email = (local: string, domain = 'x.test') => `${tag}${local}@${domain}`;
    const ids: Record<string, string> = {};
    const CONNECTION = 'Username-Password-Authentication';

    beforeAll(async () => {
      // created in this order, one second apart: carl, abby, dora, abe
      const people: [string, string, string?][] = [
        ['carl', 'Xavier Carl'],
        ['abby', 'Zoe Abby'],
        ['dora', 'Wanda Dora', 'y.test'],
        ['abe', 'Yann Abe'],
      ];
      for (const [local, name, domain] of people) {
        const created = ok(
          await call('POST', '/users', {
            body: {
              connection: CONNECTION,
              email: email(local, domain),
              password: 'a long enough password',
              name,
            },
          }),
          201,
        );
        ids[local] = created.user_id;
        t.clock.advance(1);
      }
    });

    const emailsOf = (users: { email: string }[]) =>
      users.map((u) => u.email.slice(tag.length).split('@')[0]);

    it('creates a user in Auth0 shape, without any password material', async () => {
      const answer = await call('POST', '/users', {
        body: {
          connection: CONNECTION,
          email: email('Fresh'),
          password: 'another long password',
          name: 'Fresh Person',
          given_name: 'Fresh',
          family_name: 'Person',
          nickname: 'fp',
          picture: 'https://pics.example/fp.png',
          email_verified: true,
          app_metadata: { plan: 'pro' },
          user_metadata: { theme: 'dark' },
          verify_email: false,
        },
      });
      const user = ok(answer, 201);
      expect(user).toMatchObject({
        email: email('fresh'),
        email_verified: true,
        name: 'Fresh Person',
        given_name: 'Fresh',
        family_name: 'Person',
        nickname: 'fp',
        picture: 'https://pics.example/fp.png',
        blocked: false,
        app_metadata: { plan: 'pro' },
        user_metadata: { theme: 'dark' },
      });
      expect(user.user_id).toEqual(expect.any(String));
      expect(user.identities).toEqual([
        { connection: CONNECTION, provider: 'auth0', user_id: expect.any(String), isSocial: false },
      ]);
      expect(user.created_at).toMatch(ISO_TIME);
      expect(user.updated_at).toMatch(ISO_TIME);
      for (const key of Object.keys(user)) expect(key).not.toMatch(/password|hash/i);
      expect(answer.text).not.toContain('another long password');
      expect(answer.text).not.toContain('$argon2');
      const got = ok(await call('GET', `/users/${user.user_id}`));
      expect(got).toEqual(user);
    });

    it('refuses a duplicate email (409), also in other case', async () => {
      const dup = await call('POST', '/users', {
        body: { connection: CONNECTION, email: email('ABBY'), password: 'a long enough password' },
      });
      expectError(dup, 409, 'conflict');
    });

    it('requires connection, email and password, naming the field', async () => {
      for (const field of ['connection', 'email', 'password']) {
        const body: Record<string, string> = {
          connection: CONNECTION,
          email: email(`req${field}`),
          password: 'a long enough password',
        };
        delete body[field];
        const answer = await call('POST', '/users', { body });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message).toContain(field);
      }
      const otherConnection = await call('POST', '/users', {
        body: { connection: 'google-oauth2', email: email('goog'), password: 'a long enough password' },
      });
      expectError(otherConnection, 400, 'invalid_body');
      expect(otherConnection.body.message).toContain('connection');
    });

    it('searches: plain text is a substring of email or name (case-insensitive)', async () => {
      const all = ok(await call('GET', '/users', { query: { q: tag, sort: 'email:1' } }));
      expect(emailsOf(all)).toEqual(expect.arrayContaining(['abby', 'abe', 'carl', 'dora']));
      const byName = ok(await call('GET', '/users', { query: { q: 'WANDA DORA' } }));
      expect(byName.map((u: { user_id: string }) => u.user_id)).toEqual([ids.dora]);
      const byDomain = ok(await call('GET', '/users', { query: { q: `dora@y.test`, search_engine: 'v3' } }));
      expect(byDomain.map((u: { user_id: string }) => u.user_id)).toEqual([ids.dora]);
    });

    it('names are stored in Unicode NFC: a decomposed name is found by the composed one, and back', async () => {
      const decomposed = `Jose\u0301 Nun\u0303ez ${tag}`;
      const created = ok(
        await call('POST', '/users', {
          body: {
            connection: CONNECTION,
            email: email('nfc'),
            password: 'a long enough password',
            name: decomposed,
            given_name: 'Jose\u0301',
          },
        }),
        201,
      );
      expect(created).toMatchObject({ name: decomposed.normalize('NFC'), given_name: 'Jos\u00e9' });
      for (const q of [`name:"${decomposed.normalize('NFC')}"`, `name:"${decomposed}"`, 'Jose\u0301 Nu']) {
        const users = ok(await call('GET', '/users', { query: { q } })) as { user_id: string }[];
        expect(
          users.map((u) => u.user_id),
          q,
        ).toEqual([created.user_id]);
      }
    });

    it('searches: email:prefix* and email:"exact"', async () => {
      const prefix = ok(await call('GET', '/users', { query: { q: `email:${tag}ab*`, sort: 'email:1' } }));
      expect(emailsOf(prefix)).toEqual(['abby', 'abe']);
      const exact = ok(await call('GET', '/users', { query: { q: `email:"${email('abe')}"` } }));
      expect(exact.map((u: { user_id: string }) => u.user_id)).toEqual([ids.abe]);
      const exactOtherCase = ok(
        await call('GET', '/users', { query: { q: `email:"${email('ABE').toUpperCase()}"` } }),
      );
      expect(exactOtherCase.map((u: { user_id: string }) => u.user_id)).toEqual([ids.abe]);
      // exact is exact: a prefix of an email does not match
      expect(ok(await call('GET', '/users', { query: { q: `email:"${tag}ab"` } }))).toEqual([]);
    });

    it('searches: user_id, name (exact, any case), blocked, an unquoted email; a field it cannot search by is a 400, never text', async () => {
      const idsOf = (users: { user_id: string }[]) => users.map((u) => u.user_id);
      expect(idsOf(ok(await call('GET', '/users', { query: { q: `user_id:${ids.dora}` } })))).toEqual([
        ids.dora,
      ]);
      expect(idsOf(ok(await call('GET', '/users', { query: { q: `user_id:"auth0|${ids.abe}"` } })))).toEqual([
        ids.abe,
      ]);
      expect(idsOf(ok(await call('GET', '/users', { query: { q: 'name:"wanda dora"' } })))).toEqual([
        ids.dora,
      ]);
      expect(ok(await call('GET', '/users', { query: { q: 'name:"Wanda"' } }))).toEqual([]);
      expect(idsOf(ok(await call('GET', '/users', { query: { q: `email:${email('carl')}` } })))).toEqual([
        ids.carl,
      ]);
      ok(await call('PATCH', `/users/${ids.carl}`, { body: { blocked: true } }));
      try {
        const blocked = idsOf(
          ok(await call('GET', '/users', { query: { q: 'blocked:true', per_page: 100 } })),
        );
        expect(blocked).toContain(ids.carl);
        expect(blocked).not.toContain(ids.abe);
        const open = idsOf(ok(await call('GET', '/users', { query: { q: 'blocked:false', per_page: 100 } })));
        expect(open).toContain(ids.abe);
        expect(open).not.toContain(ids.carl);
      } finally {
        ok(await call('PATCH', `/users/${ids.carl}`, { body: { blocked: false } }));
      }
      for (const q of [
        'email_verified:false',
        'app_metadata.plan:"gold"',
        'blocked:maybe',
        'name:',
        'last_ip:"198.51.100.7"',
        'logins_count:many',
        'logins_count:[3000000000 TO *]',
        'last_login:2026-02-30',
        // one term only: a second one, AND/OR or a group would be read into the value, and find nobody
        `email:"${email('carl')}" OR email:"${email('abe')}"`,
        `email:"${email('carl')}" foo:bar`,
        'name:"Wanda Dora" AND blocked:false',
        `user_id:("${ids.abe}" OR "${ids.dora}")`,
        `email:${email('carl')} bob`,
        'name:Wanda*',
        'email:*carl',
        `(email:"${email('carl')}" OR email:"${email('abe')}")`,
        'wanda OR dora',
        `-email:${email('carl')}`,
        `wanda email:${email('carl')}`,
      ]) {
        const refused = await call('GET', '/users', { query: { q } });
        expectError(refused, 400, 'invalid_query_string');
      }
    });

    it('sorts by email, name and created_at, both ways', async () => {
      const q = `email:${tag}`;
      const list = async (sort: string) =>
        emailsOf(ok(await call('GET', '/users', { query: { q: `${q}*`, sort } }))).filter((e) =>
          ['abby', 'abe', 'carl', 'dora'].includes(e as string),
        );
      expect(await list('email:1')).toEqual(['abby', 'abe', 'carl', 'dora']);
      expect(await list('email:-1')).toEqual(['dora', 'carl', 'abe', 'abby']);
      expect(await list('name:1')).toEqual(['dora', 'carl', 'abe', 'abby']);
      expect(await list('name:-1')).toEqual(['abby', 'abe', 'carl', 'dora']);
      expect(await list('created_at:1')).toEqual(['carl', 'abby', 'dora', 'abe']);
      expect(await list('created_at:-1')).toEqual(['abe', 'dora', 'abby', 'carl']);
    });

    it('shows logins_count, last_login and last_ip once someone signed in, and sorts by them', async () => {
      const before = ok(await call('GET', `/users/${ids.dora}`));
      for (const k of ['logins_count', 'last_login', 'last_ip']) expect(before).not.toHaveProperty(k);
      const at = t.clock.now();
      const iso = (s: number) => new Date(s * 1000).toISOString();
      await t.rt.storage.users.recordLogin(ids.dora!, at, '198.51.100.7');
      await t.rt.storage.users.recordLogin(ids.dora!, at + 2, '198.51.100.8');
      await t.rt.storage.users.recordLogin(ids.carl!, at + 1, null);
      const dora = ok(await call('GET', `/users/${ids.dora}`));
      expect(dora).toMatchObject({ logins_count: 2, last_login: iso(at + 2), last_ip: '198.51.100.8' });
      expect(dora.last_login).toMatch(ISO_TIME);
      expect(dora.updated_at).toBe(before.updated_at); // a sign-in changes no profile
      const carl = ok(await call('GET', `/users/${ids.carl}`));
      expect(carl).toMatchObject({ logins_count: 1, last_login: iso(at + 1) });
      expect(carl).not.toHaveProperty('last_ip');
      const list = async (sort: string) =>
        emailsOf(ok(await call('GET', '/users', { query: { q: `email:${tag}*`, sort } }))).filter((e) =>
          ['abby', 'abe', 'carl', 'dora'].includes(e as string),
        );
      // never signed in counts as the earliest sign-in and the fewest
      expect((await list('last_login:-1')).slice(0, 2)).toEqual(['dora', 'carl']);
      expect((await list('last_login:1')).slice(2)).toEqual(['carl', 'dora']);
      expect((await list('logins_count:-1')).slice(0, 2)).toEqual(['dora', 'carl']);
      expect((await list('logins_count:1')).slice(2)).toEqual(['carl', 'dora']);
      // found by them: Auth0's ranges; who never signed in has no last_login to find
      const found = async (q: string) =>
        emailsOf(ok(await call('GET', '/users', { query: { q, sort: 'email:1' } }))).filter((e) =>
          ['abby', 'abe', 'carl', 'dora'].includes(e as string),
        );
      expect(await found('logins_count:2')).toEqual(['dora']);
      expect(await found('logins_count:[1 TO *]')).toEqual(['carl', 'dora']);
      expect(await found('logins_count:0')).toEqual(['abby', 'abe']);
      expect(await found('logins_count:{2147483646 TO *]')).toEqual([]); // the column's largest, no 500
      expect(await found(`last_login:[* TO ${iso(at + 1)}]`)).toEqual(['carl']);
      expect(await found(`last_login:{${iso(at + 1)} TO *]`)).toEqual(['dora']);
      const refused = await call('GET', '/users', { query: { sort: 'last_ip:1' } });
      expectError(refused, 400, 'invalid_query_string');
      expect(refused.body.message).toContain('last_login');
    });

    it('pages with include_totals; past the end is an empty list', async () => {
      const q = { q: `email:${tag}ab*`, sort: 'email:1' };
      const p0 = ok(
        await call('GET', '/users', { query: { ...q, per_page: 1, page: 0, include_totals: true } }),
      );
      expect(p0).toMatchObject({ start: 0, limit: 1, length: 1, total: 2 });
      expect(emailsOf(p0.users)).toEqual(['abby']);
      const p1 = ok(
        await call('GET', '/users', { query: { ...q, per_page: 1, page: 1, include_totals: true } }),
      );
      expect(p1).toMatchObject({ start: 1, limit: 1, length: 1, total: 2 });
      expect(emailsOf(p1.users)).toEqual(['abe']);
      const p2 = ok(
        await call('GET', '/users', { query: { ...q, per_page: 1, page: 2, include_totals: true } }),
      );
      expect(p2).toEqual({ start: 2, limit: 1, length: 0, total: 2, users: [] });
      expect(ok(await call('GET', '/users', { query: { ...q, per_page: 1, page: 7 } }))).toEqual([]);
      const bare = ok(await call('GET', '/users', { query: { ...q, per_page: 1, page: 1 } }));
      expect(Array.isArray(bare)).toBe(true);
      expect(emailsOf(bare)).toEqual(['abe']);
    });

    it('fields and include_fields keep or leave out what the answer holds (list, one user, by email)', async () => {
      const email = 'fields-of@example.com';
      const created = ok(
        await call('POST', '/users', {
          body: {
            connection: CONNECTION,
            email,
            password: 'a long enough passphrase',
            app_metadata: { plan: 'gold' },
          },
        }),
        201,
      );
      const id = created.user_id as string;
      const only = ok(
        await call('GET', `/users/${id}`, { query: { fields: 'user_id,email', include_fields: true } }),
      );
      expect(only).toEqual({ user_id: id, email });
      const without = ok(
        await call('GET', `/users/${id}`, {
          query: { fields: 'app_metadata,user_metadata', include_fields: false },
        }),
      );
      expect(without).not.toHaveProperty('app_metadata');
      expect(without).not.toHaveProperty('user_metadata');
      expect(without).toHaveProperty('email', email);
      const listed = ok(await call('GET', '/users', { query: { q: 'fields-of', fields: 'user_id' } }));
      expect(listed).toEqual([{ user_id: id }]);
      const byEmail = ok(await call('GET', '/users-by-email', { query: { email, fields: 'email' } }));
      expect(byEmail).toEqual([{ email }]);
    });

    it("a user's path takes Auth0's auth0| prefix; an email there is invalid_uri (a path parameter)", async () => {
      const byPrefix = ok(await call('GET', `/users/${encodeURIComponent(`auth0|${ids.abe}`)}`));
      expect(byPrefix.user_id).toBe(ids.abe);
      expectError(await call('GET', `/users/${encodeURIComponent(email('abe'))}`), 400, 'invalid_uri');
    });

    it('finds users by email (/users-by-email), a bare array', async () => {
      const found = ok(await call('GET', '/users-by-email', { query: { email: email('carl') } }));
      expect(found.map((u: { user_id: string }) => u.user_id)).toEqual([ids.carl]);
      const upper = ok(
        await call('GET', '/users-by-email', { query: { email: email('carl').toUpperCase() } }),
      );
      expect(upper.map((u: { user_id: string }) => u.user_id)).toEqual([ids.carl]);
      expect(ok(await call('GET', '/users-by-email', { query: { email: email('nobody') } }))).toEqual([]);
      expectError(await call('GET', '/users-by-email'), 400, 'invalid_query_string');
    });

    it('metadata: at most 16,384 bytes as JSON, counted in bytes (UTF-8), not characters', async () => {
      const created = ok(
        await call('POST', '/users', {
          body: { connection: CONNECTION, email: email('meta'), password: 'a long enough password' },
        }),
        201,
      );
      const path = `/users/${created.user_id}`;
      // 6,000 euro signs: 6,000 characters, 18,000 bytes
      const big = await call('PATCH', path, { body: { user_metadata: { note: '\u20ac'.repeat(6000) } } });
      expectError(big, 400, 'invalid_body');
      expect(big.body.message).toContain('user_metadata: at most 16384 bytes as JSON');
      const fits = await call('PATCH', path, { body: { app_metadata: { note: '\u20ac'.repeat(5000) } } });
      expect(ok(fits).app_metadata.note).toHaveLength(5000);
    });

    it('updates a user: profile, metadata merged (null removes), email; 409 on a taken email', async () => {
      const id = ids.carl!;
      const before = ok(await call('GET', `/users/${id}`));
      t.clock.advance(5);
      const updated = ok(
        await call('PATCH', `/users/${id}`, {
          body: {
            name: 'Carl Renamed',
            user_metadata: { theme: 'dark', lang: 'fr' },
            app_metadata: { plan: 'x' },
          },
        }),
      );
      expect(updated).toMatchObject({
        user_id: id,
        name: 'Carl Renamed',
        user_metadata: { theme: 'dark', lang: 'fr' },
        app_metadata: { plan: 'x' },
      });
      expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(before.updated_at));
      const merged = ok(
        await call('PATCH', `/users/${id}`, { body: { user_metadata: { theme: null, size: 'L' } } }),
      );
      expect(merged.user_metadata).toEqual({ lang: 'fr', size: 'L' });
      expect(merged.app_metadata).toEqual({ plan: 'x' });
      const taken = await call('PATCH', `/users/${id}`, { body: { email: email('abby') } });
      expectError(taken, 409, 'conflict');
      const moved = ok(await call('PATCH', `/users/${id}`, { body: { email: email('carl2') } }));
      expect(moved.email).toBe(email('carl2'));
      expect(ok(await call('GET', '/users-by-email', { query: { email: email('carl2') } }))).toHaveLength(1);
      ok(await call('PATCH', `/users/${id}`, { body: { email: email('carl') } }));
      // an address taken before the stricter check is kept when sent back unchanged (a GET then
      // PATCH), and only a change to another such address is refused
      const legacy = `old..dots.${id.slice(-8).toLowerCase()}@example.com`;
      await t.rt.storage.users.update(id, { email: legacy }, t.clock.now());
      const same = ok(await call('PATCH', `/users/${id}`, { body: { email: legacy, name: 'Carl' } }));
      expect(same).toMatchObject({ email: legacy, name: 'Carl' });
      const other = `new..dots.${id.slice(-8)}@example.com`;
      expectError(await call('PATCH', `/users/${id}`, { body: { email: other } }), 400);
      ok(await call('PATCH', `/users/${id}`, { body: { email: email('carl') } }));
    });

    it('phone_number and locale (as users create --phone-number/--locale set them): set, shown, removed with null; a bad shape is a 400 naming it', async () => {
      const made = ok(
        await call('POST', '/users', {
          body: {
            connection: CONNECTION,
            email: email('phoned'),
            password: 'another long password',
            phone_number: '+1 555 0100;ext=12',
            locale: 'fr-CA',
          },
        }),
        201,
      );
      expect(made).toMatchObject({ phone_number: '+1 555 0100;ext=12', locale: 'fr-CA' });
      const id = made.user_id as string;
      const changed = ok(
        await call('PATCH', `/users/${id}`, { body: { phone_number: '+33142685300', locale: 'en_GB' } }),
      );
      expect(changed).toMatchObject({ phone_number: '+33142685300', locale: 'en_GB' });
      for (const [field, value] of [
        ['phone_number', 'call me'],
        ['phone_number', '+1 555 0100<script>'],
        ['phone_number', '+'],
        ['locale', 'english please'],
        ['locale', 'e'],
      ] as const) {
        const bad = await call('PATCH', `/users/${id}`, { body: { [field]: value } });
        expectError(bad, 400, 'invalid_body');
        expect(bad.body.message).toContain(field);
      }
      // a value stored before the check is kept when sent back unchanged (a GET then PATCH)
      await t.rt.storage.users.update(
        id,
        { claims: { ...(await t.rt.storage.users.get(id))!.claims, phone_number: 'call me' } },
        t.clock.now(),
      );
      expect(
        ok(await call('PATCH', `/users/${id}`, { body: { phone_number: 'call me', name: 'P' } })),
      ).toMatchObject({ phone_number: 'call me' });
      const cleared = ok(await call('PATCH', `/users/${id}`, { body: { phone_number: null, locale: null } }));
      expect(cleared).not.toHaveProperty('phone_number');
      expect(cleared).not.toHaveProperty('locale');
      expect(
        ok(await call('GET', `/users/${id}`, { query: { fields: 'phone_number,locale,email' } })),
      ).toEqual({
        email: email('phoned'),
      });
    });

    it('picture: a URL up to 2,048 characters, as the OpenAPI document says; longer is a 400 naming it', async () => {
      const id = ids.carl!;
      const long = `https://pics.example/${'p'.repeat(2048 - 'https://pics.example/'.length)}`;
      expect(ok(await call('PATCH', `/users/${id}`, { body: { picture: long } })).picture).toBe(long);
      expectError(
        await call('PATCH', `/users/${id}`, { body: { picture: `${long}x` } }),
        400,
        'invalid_body',
      );
      expectError(
        await call('PATCH', `/users/${id}`, { body: { name: 'n'.repeat(256) } }),
        400,
        'invalid_body',
      );
      ok(await call('PATCH', `/users/${id}`, { body: { picture: null } }));
    });

    it('names count characters as the OpenAPI maxLength does: 255 emoji (510 UTF-16 units) are taken, 256 are a 400', async () => {
      const id = ids.carl!;
      const emoji = '\u{1F600}'.repeat(255);
      expect(ok(await call('PATCH', `/users/${id}`, { body: { name: emoji } })).name).toBe(emoji);
      expectError(
        await call('PATCH', `/users/${id}`, { body: { nickname: `${emoji}\u{1F600}` } }),
        400,
        'invalid_body',
      );
      const role = ok(await call('POST', '/roles', { body: { name: emoji, description: emoji } }));
      expect(role).toMatchObject({ name: emoji, description: emoji });
      expectError(
        await call('POST', '/roles', { body: { name: `${emoji}\u{1F600}`, description: 'x' } }),
        400,
        'invalid_body',
      );
      ok(await call('PATCH', `/users/${id}`, { body: { name: 'Carl' } }));
    });

    it('names (name, given_name, family_name, nickname): empty or with control characters is a 400 naming the field; null removes one', async () => {
      const created = ok(
        await call('POST', '/users', {
          body: {
            connection: CONNECTION,
            email: email('named'),
            password: 'a long enough password',
            name: 'Ada',
          },
        }),
        201,
      );
      const path = `/users/${created.user_id}`;
      for (const [field, value, why] of [
        ['name', '', 'must not be empty'],
        ['name', '   ', 'must not be empty'],
        ['given_name', 'legit\nFAKE line', 'must not contain control characters'],
        ['family_name', 'evil\u202Etxt.exe', 'must not contain control characters'],
        ['nickname', 'tab\there', 'must not contain control characters'],
        ['name', 'line\u2029break', 'must not contain control characters'],
      ] as const) {
        const answer = await call('PATCH', path, { body: { [field]: value } });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message).toContain(`${field}: ${why}`);
      }
      const refused = await call('POST', '/users', {
        body: {
          connection: CONNECTION,
          email: email('named2'),
          password: 'a long enough password',
          name: '',
        },
      });
      expectError(refused, 400, 'invalid_body');
      expect(ok(await call('GET', path)).name).toBe('Ada');
      expect(ok(await call('PATCH', path, { body: { name: 'Ada Lovelace' } })).name).toBe('Ada Lovelace');
      expect(ok(await call('PATCH', path, { body: { name: null } })).name).toBeUndefined();
    });

    it('deletes a user: 204; deleting again (or a user never there) is 204 too, as in Auth0; reading it is 404', async () => {
      const created = ok(
        await call('POST', '/users', {
          body: { connection: CONNECTION, email: email('gone'), password: 'a long enough password' },
        }),
        201,
      );
      expectStatus(await call('DELETE', `/users/${created.user_id}`), 204);
      expectError(await call('GET', `/users/${created.user_id}`), 404, 'inexistent_resource');
      const again = await call('DELETE', `/users/${created.user_id}`);
      expectStatus(again, 204);
      expect(again.text).toBe('');
      expectStatus(await call('DELETE', `/users/auth0|${created.user_id}`), 204);
      expectStatus(await call('DELETE', '/users/usr_never_there'), 204);
      // an email is still no user id
      expectError(await call('DELETE', `/users/${email('gone')}`), 400, 'invalid_uri');
      expect(ok(await call('GET', '/users-by-email', { query: { email: email('gone') } }))).toEqual([]);
    });
  });
});
