import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/admin/errors.js';
import { parseUserSearch } from '../../../src/admin/user-search.js';

const seconds = (iso: string) => Date.parse(iso) / 1000;

describe("parseUserSearch: Auth0's logins_count and last_login terms", () => {
  it('logins_count: one value, inclusive and exclusive ranges, open ends', () => {
    expect(parseUserSearch('logins_count:3')).toEqual({ loginsCount: { min: 3, max: 3 } });
    expect(parseUserSearch('logins_count:"0"')).toEqual({ loginsCount: { min: 0, max: 0 } });
    expect(parseUserSearch('logins_count:[1 TO *]')).toEqual({ loginsCount: { min: 1 } });
    expect(parseUserSearch('logins_count:{1 TO 10}')).toEqual({ loginsCount: { min: 2, max: 9 } });
    expect(parseUserSearch('logins_count:[* TO 5}')).toEqual({ loginsCount: { max: 4 } });
    expect(parseUserSearch('logins_count:{2147483646 TO *]')).toEqual({ loginsCount: { min: 2147483647 } });
  });

  it('last_login: days reach to their end, times are exact; never finds who never signed in', () => {
    expect(parseUserSearch('last_login:[* TO 2026-01-01]')).toEqual({
      lastLogin: { min: 1, max: seconds('2026-01-01T23:59:59Z') },
    });
    expect(parseUserSearch('last_login:[2026-11-30T12:00:00Z TO *]')).toEqual({
      lastLogin: { min: seconds('2026-11-30T12:00:00Z') },
    });
    expect(parseUserSearch('last_login:2026-11-30')).toEqual({
      lastLogin: { min: seconds('2026-11-30T00:00:00Z'), max: seconds('2026-11-30T23:59:59Z') },
    });
    // an exclusive bound on a day: after the whole day, or before it (Lucene's reading)
    expect(parseUserSearch('last_login:{* TO 2026-12-04}')).toEqual({
      lastLogin: { min: 1, max: seconds('2026-12-03T23:59:59Z') },
    });
    expect(parseUserSearch('last_login:{2026-12-04 TO *]')).toEqual({
      lastLogin: { min: seconds('2026-12-05T00:00:00Z') },
    });
    expect(parseUserSearch('last_login:{2026-11-30T12:00:00+01:00 TO 2026-12-01T00:00:00Z}')).toEqual({
      lastLogin: { min: seconds('2026-11-30T11:00:01Z'), max: seconds('2026-11-30T23:59:59Z') },
    });
  });

  it.each([
    ['logins_count:three', 'logins_count three is not a whole number'],
    ['logins_count:[1 TO many]', 'logins_count many is not a whole number'],
    ['logins_count:-1', 'logins_count -1 is not a whole number'],
    ['logins_count:2147483647', 'logins_count 2147483647 is not a whole number from 0 to 2147483646'],
    ['logins_count:[99999999999 TO *]', 'logins_count 99999999999 is not a whole number'],
    ['last_login:2026-02-30', 'last_login 2026-02-30 is not an ISO 8601 date'],
    ['last_login:[yesterday TO *]', 'last_login yesterday is not an ISO 8601 date'],
    ['logins_count:1 blocked:true', 'logins_count: one value or a range'],
    ['last_login:[2026-01-01 TO *] AND blocked:false', 'last_login: one value or a range'],
  ])('%s is refused: %s', (q, message) => {
    expect(() => parseUserSearch(q)).toThrow(ValidationError);
    expect(() => parseUserSearch(q)).toThrow(message);
  });
});

describe('parseUserSearch: terms without a field name', () => {
  it("*:* is Lucene's match-all: every user, as no q", () => {
    expect(parseUserSearch('*:*')).toEqual({});
    expect(parseUserSearch(' *:* ')).toEqual({});
  });

  it.each(['*:foo', ':1', '*:', '*:* AND email:x', '*', 'ad*', '*ada'])(
    '%s is refused, not searched as text',
    (q) => {
      expect(() => parseUserSearch(q)).toThrow(ValidationError);
      expect(() => parseUserSearch(q)).toThrow(/^q: /);
    },
  );

  it('plain text is still plain text', () => {
    expect(parseUserSearch('ann smith')).toEqual({ text: 'ann smith' });
    expect(parseUserSearch('10:30')).toEqual({ text: '10:30' });
    expect(parseUserSearch('Who?')).toEqual({ text: 'Who?' });
  });

  it('a quoted phrase is its words, as they are (Lucene): the quotes are not searched for', () => {
    expect(parseUserSearch('"ada"')).toEqual({ text: 'ada' });
    expect(parseUserSearch('"user 1"')).toEqual({ text: 'user 1' });
    expect(parseUserSearch('"a* AND b:c"')).toEqual({ text: 'a* AND b:c' });
    expect(() => parseUserSearch('""')).toThrow(/^q: /);
    expect(() => parseUserSearch('" "')).toThrow(/^q: /);
  });
});
