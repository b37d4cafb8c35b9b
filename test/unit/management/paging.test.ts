import { describe, expect, it } from 'vitest';
import { checkpointBody, checkpointSlice } from '../../../src/management/paging.js';
import { ROLE_USER_ORDER, SESSION_ORDER } from '../../../src/storage/list-orders.js';

describe('checkpoint pages', () => {
  const slice = { offset: 0, limit: 2 };

  it('give next, the last item read, while a page was full; it reads back as the position after it', () => {
    const body = checkpointBody('users', ['a', 'b'], slice, ['usr_b']);
    expect(body.next).toEqual(expect.any(String));
    expect(checkpointSlice({ from: body.next as string, take: 2 }, ROLE_USER_ORDER)).toEqual({
      offset: 0,
      limit: 2,
      after: ['usr_b'],
    });
    expect(checkpointBody('users', ['a'], slice, ['usr_a'])).toEqual({ users: ['a'] });
  });

  it('a page the storage read full keeps its next though an item went since (a member deleted meanwhile)', () => {
    const body = checkpointBody('users', ['a'], slice, ['usr_b'], true);
    expect(body.next).toEqual(expect.any(String));
  });

  it('refuse a position of another shape, a made-up one and one holding a NUL', () => {
    const bad = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const from of ['1', 'abc', bad([1, 'x']), bad(['a\u0000'])]) {
      expect(() => checkpointSlice({ from }, ROLE_USER_ORDER), from).toThrow(/from: not a position/);
    }
    expect(() => checkpointSlice({ from: bad(['x', 1]) }, SESSION_ORDER)).toThrow(/from: not a position/);
    expect(checkpointSlice({ from: bad([5, 'sid']) }, SESSION_ORDER).after).toEqual([5, 'sid']);
  });
});
