import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/admin/errors.js';
import { parseLogSearch } from '../../../src/admin/logs.js';

const day = (d: string) => Date.parse(`${d}T00:00:00Z`);

describe("parseLogSearch (Auth0's log search subset)", () => {
  it('reads nothing as no filter', () => {
    expect(parseLogSearch(undefined)).toEqual({});
    expect(parseLogSearch('   ')).toEqual({});
  });

  it('reads type, user_id and client_id terms, quoted or bare, joined by spaces or AND', () => {
    expect(parseLogSearch('type:fp AND user_id:"usr_a b\\"c" client_id:abc')).toEqual({
      types: ['fp'],
      userId: 'usr_a b"c',
      clientId: 'abc',
    });
    expect(parseLogSearch('type:(s OR "f" OR fp)')).toEqual({ types: ['s', 'f', 'fp'] });
    // Auth0's form of a database user's id
    expect(parseLogSearch('user_id:"auth0|usr_abc"')).toEqual({ userId: 'usr_abc' });
  });

  it('reads date ranges: inclusive [ ], exclusive { }, open ends, bare days to their end', () => {
    expect(parseLogSearch('date:[2026-11-01 TO 2026-11-30]')).toEqual({
      since: day('2026-11-01'),
      until: day('2026-11-30') + 86_399_999,
    });
    expect(parseLogSearch('date:{2026-11-01T10:00:00Z TO *}')).toEqual({
      since: Date.parse('2026-11-01T10:00:00Z') + 1,
    });
    expect(parseLogSearch('date:[2026-11-01T10:00:00+02:00 TO *]')).toEqual({
      since: Date.parse('2026-11-01T08:00:00Z'),
    });
    expect(parseLogSearch('date:[* TO 2026-11-02T00:00:00.000Z]')).toEqual({
      until: Date.parse('2026-11-02T00:00:00.000Z'),
    });
    expect(parseLogSearch('date:2026-11-05')).toEqual({
      since: day('2026-11-05'),
      until: day('2026-11-05') + 86_399_999,
    });
  });

  it('reads an exclusive bound on a day as Lucene does: after the whole day, or before it', () => {
    expect(parseLogSearch('date:{2026-12-04 TO *}')).toEqual({ since: day('2026-12-05') });
    expect(parseLogSearch('date:{* TO 2026-12-04}')).toEqual({ until: day('2026-12-04') - 1 });
    // the brackets mix, as in the user search
    expect(parseLogSearch('date:[2026-12-01 TO 2026-12-04}')).toEqual({
      since: day('2026-12-01'),
      until: day('2026-12-04') - 1,
    });
    expect(parseLogSearch('date:{2026-12-01 TO 2026-12-04]')).toEqual({
      since: day('2026-12-02'),
      until: day('2026-12-05') - 1,
    });
  });

  it('reads a list of types joined by OR or by spaces (Lucene OR)', () => {
    expect(parseLogSearch('type:(sapi fapi)')).toEqual({ types: ['sapi', 'fapi'] });
    expect(parseLogSearch('type:( s OR f  fp )')).toEqual({ types: ['s', 'f', 'fp'] });
  });

  it.each([
    ['type:()', /lists no type/],
    ['type:sapi*', /not an event type/],
    ['type:sapi&&client_id:x', /not an event type/],
    ['type:(sapi AND fapi)', /"AND" is not an event type/],
    ['type:OR', /"OR" is not an event type/],
    ['type:(sapi OR OR fapi)', /"OR" is not an event type/],
    ['user_id:(usr_A OR usr_B)', /user_id takes one value/],
    ['client_id:abc*', /client_id takes a whole value/],
    ['AND AND', /AND must stand between two terms/],
    ['AND type:s', /AND must stand between two terms/],
    ['type:sapi AND', /AND must stand between two terms/],
    ['type:s AND AND user_id:u', /AND must stand between two terms/],
  ])('refuses %j rather than match nothing', (q, message) => {
    expect(() => parseLogSearch(q)).toThrow(ValidationError);
    expect(() => parseLogSearch(q)).toThrow(message);
  });

  it.each([
    ['description:x', /cannot search by description/],
    ['type:', /cannot read/],
    ['date:[yesterday TO *]', /not an ISO 8601 date/],
    ['type:s OR type:f', /cannot read/],
    ['just words', /cannot read/],
    // V8's Date.parse reads these too; the search does not (it matched nothing, or a millisecond)
    ['date:>=2026-12-01', /not an ISO 8601 date/],
    ['date:2026-12-01T10:00', /not an ISO 8601 date/],
    ['date:[Dec 1 2026 TO *]', /cannot read|not an ISO 8601 date/],
    ['date:12/01/2026', /not an ISO 8601 date/],
    // days and times the calendar has not (Date.parse moves 2026-02-30 to March 2)
    ['date:[2026-02-30 TO *]', /date 2026-02-30 is not an ISO 8601 date/],
    ['date:[2026-01-01 TO 2026-04-31]', /date 2026-04-31 is not/],
    ['date:2026-01-01T24:00Z', /not an ISO 8601 date/],
    ['date:2026-01-01T10:60:00Z', /not an ISO 8601 date/],
    ['date:2026-01-01T10:00+25:00', /not an ISO 8601 date/],
    // terms are ANDed: the same field twice is refused, not the first dropped
    ['type:sapi type:s', /type is given twice/],
    ['user_id:a AND user_id:b', /user_id is given twice/],
  ])('refuses %j naming the problem', (q, message) => {
    expect(() => parseLogSearch(q)).toThrow(ValidationError);
    expect(() => parseLogSearch(q)).toThrow(message);
  });
});
