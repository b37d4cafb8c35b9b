import { describe, expect, it } from 'vitest';
import { safeReturn } from '../../../src/console/signin.js';

describe('the console sign-in return path (safeReturn)', () => {
  it('keeps a console page with its query (a search `+` and quotes included; a quote may come back %-encoded)', () => {
    for (const path of [
      '/console',
      '/console/users',
      '/console/users?q=clerk',
      '/console/users?q=ada+lovelace&page=2',
      "/console/users?q=o'brien",
      '/console/logs?q=type%3A(s%20OR%20f)',
    ])
      expect(decodeURIComponent(safeReturn(path)), path).toBe(decodeURIComponent(path));
  });

  it('anything that leaves the console, or is not a path, goes to the dashboard', () => {
    for (const path of [
      undefined,
      '',
      '/',
      '/consoleevil',
      '/console/../u/login',
      '//evil.example/console',
      'https://evil.example/console',
      '/console/..%2f..%2fapi',
      'javascript:alert(1)',
    ])
      expect(safeReturn(path), String(path)).toMatch(/^\/console(\/|$)/);
    expect(safeReturn('/console/../u/login')).toBe('/console');
    expect(safeReturn('//evil.example/console')).toBe('/console');
    expect(safeReturn('/consoleevil')).toBe('/console');
  });
});
