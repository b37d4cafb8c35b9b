import { describe, expect, it } from 'vitest';
import { ApiError, inWords } from '../../src/console/management.js';

describe("console: the Management API's messages in a form's words", () => {
  it.each([
    [
      'Payload validation error: name: Too big: expected string to have <=255 characters',
      'name: at most 255 characters',
    ],
    [
      'Payload validation error: name: Too small: expected string to have >=1 characters',
      'name: must not be empty',
    ],
    [
      'Payload validation error: token_lifetime: Invalid input: expected number, received string',
      'token_lifetime: must be a number',
    ],
    [
      'Payload validation error: token_lifetime: Invalid input: expected int, received number',
      'token_lifetime: must be a whole number',
    ],
    [
      'Payload validation error: token_lifetime: Too small: expected number to be >=60',
      'token_lifetime: at least 60',
    ],
    [
      'Payload validation error: roles: Too small: expected array to have >=1 items',
      'roles: choose at least one',
    ],
    [
      'Payload validation error: scopes: Too big: expected array to have <=1000 items',
      'scopes: at most 1000',
    ],
    [
      'Query validation error: q: Too big: expected string to have <=320 characters',
      'q: at most 320 characters',
    ],
    [
      'Insufficient scope, expected any of: read:client_grants',
      'This needs the permission read:client_grants.',
    ],
    [
      'Insufficient scope, expected all of: read:users, update:users',
      'This needs the permissions read:users and update:users.',
    ],
    [
      'Insufficient scope, expected any of: read:users + read:roles, read:role_members',
      'This needs the permissions read:users and read:roles, or read:role_members.',
    ],
    ['name: must be 1 to 255 characters', 'name: must be 1 to 255 characters'],
  ])('%s', (api, shown) => {
    expect(inWords(api)).toBe(shown);
    expect(new ApiError(400, api).message).toBe(shown);
  });

  it('keeps the field a message names', () => {
    expect(
      new ApiError(400, 'Payload validation error: name: Too big: expected string to have <=255 characters')
        .field,
    ).toBe('name');
  });
});
