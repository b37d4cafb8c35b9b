import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(content: string): string {
  const path = join(dir, `config-${++files}.json`);
  writeFileSync(path, content);
  return path;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).name).toBe('ConfigError');
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const SECRET = 's'.repeat(32);

describe('defaults', () => {
  it('fills every key with its documented default', () => {
    const cfg = loadConfig({});
    expect(cfg).toMatchObject({
      issuer: 'http://localhost:3000',
      port: 3000,
      host: 'localhost',
      dataDir: './data',
      logLevel: 'info',
      bodyLimit: 65536,
      keys: {
        algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
        activationDelay: 900,
        jwksMaxAge: 300,
        cacheTtl: 5,
      },
      accessToken: { defaultLifetime: 86400 },
    });
    expect(cfg.databaseUrl).toBeUndefined();
    expect(cfg.secret).toBeUndefined();
  });

  it('does not read process.env when given an env', () => {
    const saved = process.env.SESAME_PORT;
    process.env.SESAME_PORT = '4999';
    try {
      expect(loadConfig({}).port).toBe(3000);
    } finally {
      if (saved === undefined) delete process.env.SESAME_PORT;
      else process.env.SESAME_PORT = saved;
    }
  });

  it('the default issuer follows the port', () => {
    expect(loadConfig({ SESAME_PORT: '8443' }).issuer).toBe('http://localhost:8443');
  });
});

describe('environment', () => {
  it('maps SESAME_* variables to keys, coercing numbers', () => {
    const cfg = loadConfig({
      SESAME_ISSUER: 'https://id.example.com',
      SESAME_PORT: '8080',
      SESAME_HOST: '0.0.0.0',
      SESAME_DATA_DIR: '/var/lib/sesame',
      SESAME_DATABASE_URL: 'postgres://u@db/sesame',
      SESAME_SECRET: SECRET,
      SESAME_LOG_LEVEL: 'warn',
      SESAME_BODY_LIMIT: '2048',
      SESAME_KEY_ACTIVATION_DELAY: '60',
      SESAME_JWKS_MAX_AGE: '120',
      SESAME_KEY_CACHE_TTL: '7',
      SESAME_KEY_ALGORITHMS: 'EdDSA, ES256',
    });
    expect(cfg).toMatchObject({
      issuer: 'https://id.example.com',
      port: 8080,
      host: '0.0.0.0',
      dataDir: '/var/lib/sesame',
      databaseUrl: 'postgres://u@db/sesame',
      secret: SECRET,
      logLevel: 'warn',
      bodyLimit: 2048,
      keys: { algorithms: ['EdDSA', 'ES256'], activationDelay: 60, jwksMaxAge: 120, cacheTtl: 7 },
    });
  });

  it('PORT is used when SESAME_PORT is not set; SESAME_PORT wins over it', () => {
    expect(loadConfig({ PORT: '5000' }).port).toBe(5000);
    expect(loadConfig({ PORT: '5000', SESAME_PORT: '6000' }).port).toBe(6000);
  });

  it('an empty SESAME_PORT counts as unset, so PORT still applies', () => {
    // Every other variable treats '' as unset; PORT (set by platforms) must not be lost to it.
    expect(loadConfig({ SESAME_PORT: '', PORT: '5000' }).port).toBe(5000);
  });

  it('empty variables count as unset', () => {
    const cfg = loadConfig({
      SESAME_HOST: '',
      SESAME_SECRET: '',
      SESAME_KEY_ALGORITHMS: '',
      SESAME_LOG_LEVEL: '',
    });
    expect(cfg.host).toBe('localhost');
    expect(cfg.secret).toBeUndefined();
    expect(cfg.logLevel).toBe('info');
    expect(cfg.keys.algorithms).toEqual(['ES256', 'RS256', 'PS256', 'EdDSA']);
  });

  it('keeps SESAME_ISSUER byte for byte, trailing slash included (Auth0 form)', () => {
    expect(loadConfig({ SESAME_ISSUER: 'https://id.example.com/' }).issuer).toBe('https://id.example.com/');
    expect(loadConfig({ SESAME_ISSUER: 'https://id.example.com' }).issuer).toBe('https://id.example.com');
    expect(parseConfig({ issuer: 'http://localhost:3000/' }).issuer).toBe('http://localhost:3000/');
    expect(parseConfig({ port: 4000 }).issuer).toBe('http://localhost:4000');
  });

  it('CLI overrides win over the environment', () => {
    expect(loadConfig({ SESAME_PORT: '8080' }, { port: 9090 }).port).toBe(9090);
  });
});

describe('invalid values throw ConfigError naming the key', () => {
  it.each([
    ['port', { SESAME_PORT: 'abc' }, 'port: Invalid input: expected number, received NaN'],
    ['port', { SESAME_PORT: '70000' }, 'port: Too big: expected number to be <=65535'],
    ['port', { PORT: '-1' }, 'port: Too small: expected number to be >=0'],
    ['port', { SESAME_PORT: '80.5' }, 'port: Invalid input: expected int, received number'],
    ['issuer', { SESAME_ISSUER: 'ftp://id.example.com' }, 'issuer: must be an absolute http(s) URL'],
    ['issuer', { SESAME_ISSUER: 'id.example.com' }, 'issuer: must be an absolute http(s) URL'],
    [
      'issuer',
      { SESAME_ISSUER: 'https://id.example.com/?tenant=1' },
      'issuer: must not have a query or fragment',
    ],
    ['issuer', { SESAME_ISSUER: 'https://id.example.com/#x' }, 'issuer: must not have a query or fragment'],
    [
      'databaseUrl',
      { SESAME_DATABASE_URL: 'mysql://db/sesame' },
      'databaseUrl: must start with postgres://, postgresql:// or sqlite:',
    ],
    ['secret', { SESAME_SECRET: 'too-short' }, 'secret: must be at least 32 characters'],
    ['logLevel', { SESAME_LOG_LEVEL: 'loud' }, 'logLevel: Invalid option'],
    ['bodyLimit', { SESAME_BODY_LIMIT: '10' }, 'bodyLimit: Too small: expected number to be >=1024'],
    ['keys.algorithms', { SESAME_KEY_ALGORITHMS: 'ES256,HS256' }, 'keys.algorithms.1: Invalid option'],
    [
      'keys.cacheTtl',
      { SESAME_KEY_CACHE_TTL: '3601' },
      'keys.cacheTtl: Too big: expected number to be <=3600',
    ],
  ])('%s (%j)', (_key, env, line) => {
    const err = configError(() => loadConfig(env));
    expect(err.message.startsWith('invalid configuration:\n')).toBe(true);
    expect(err.message).toContain(`\n  ${line}`);
  });

  it('names every bad key at once', () => {
    const err = configError(() =>
      loadConfig({ SESAME_PORT: 'x', SESAME_SECRET: 'y', SESAME_DATABASE_URL: 'z' }),
    );
    expect(err.message).toBe(
      [
        'invalid configuration:',
        '  port: Invalid input: expected number, received NaN',
        '  databaseUrl: must start with postgres://, postgresql:// or sqlite:',
        '  secret: must be at least 32 characters',
      ].join('\n'),
    );
  });

  it('accepts postgresql:// and sqlite: database URLs', () => {
    expect(loadConfig({ SESAME_DATABASE_URL: 'postgresql://db/x' }).databaseUrl).toBe('postgresql://db/x');
    expect(loadConfig({ SESAME_DATABASE_URL: 'sqlite:/tmp/s.db' }).databaseUrl).toBe('sqlite:/tmp/s.db');
  });
});

describe('JSON config file', () => {
  it('is read from SESAME_CONFIG, or from the file argument', () => {
    const path = file(JSON.stringify({ port: 4100, host: 'file-host' }));
    expect(loadConfig({ SESAME_CONFIG: path })).toMatchObject({ port: 4100, host: 'file-host' });
    expect(loadConfig({}, {}, path)).toMatchObject({ port: 4100, host: 'file-host' });
  });

  it('is merged under the environment, nested keys included', () => {
    const path = file(
      JSON.stringify({
        port: 4100,
        host: 'file-host',
        issuer: 'https://file.example.com/',
        keys: { activationDelay: 30, cacheTtl: 2, algorithms: ['RS256'] },
      }),
    );
    const cfg = loadConfig({ SESAME_CONFIG: path, SESAME_PORT: '4200', SESAME_KEY_CACHE_TTL: '9' });
    expect(cfg.port).toBe(4200);
    expect(cfg.host).toBe('file-host');
    expect(cfg.issuer).toBe('https://file.example.com/');
    expect(cfg.keys).toEqual({ algorithms: ['RS256'], activationDelay: 30, jwksMaxAge: 300, cacheTtl: 9 });
  });

  it('the file argument wins over SESAME_CONFIG', () => {
    const a = file(JSON.stringify({ host: 'a' }));
    const b = file(JSON.stringify({ host: 'b' }));
    expect(loadConfig({ SESAME_CONFIG: a }, {}, b).host).toBe('b');
  });

  it('values from the file are validated and named too', () => {
    const path = file(JSON.stringify({ keys: { jwksMaxAge: 'soon' } }));
    const err = configError(() => loadConfig({ SESAME_CONFIG: path }));
    expect(err.message).toContain('\n  keys.jwksMaxAge: Invalid input: expected number, received NaN');
  });

  it('an unknown key, at the top or in a section, is refused by name (a typo is never silently a default)', () => {
    const path = file(JSON.stringify({ prot: 4100, refreshToken: { idleLifetme: 60 } }));
    const err = configError(() => loadConfig({ SESAME_CONFIG: path }));
    expect(err.message).toContain('\n  (root): unknown key "prot"');
    expect(err.message).toContain('\n  refreshToken: unknown key "idleLifetme"');
  });

  it('invalid JSON throws ConfigError naming the file', () => {
    const path = file('{ "port": 4100, }');
    const err = configError(() => loadConfig({ SESAME_CONFIG: path }));
    expect(err.message.startsWith(`config file ${path}: invalid JSON (`)).toBe(true);
  });

  it.each([
    ['an array', '[1, 2]'],
    ['a string', '"port"'],
    ['null', 'null'],
  ])('JSON that is %s is refused', (_name, text) => {
    const path = file(text);
    const err = configError(() => loadConfig({}, {}, path));
    expect(err.message).toBe(`config file ${path}: invalid JSON (not an object)`);
  });

  it('a missing file throws ConfigError naming it', () => {
    const path = join(dir, 'missing.json');
    const err = configError(() => loadConfig({ SESAME_CONFIG: path }));
    expect(err.message).toMatch(new RegExp(`^config file ${path}: ENOENT`));
  });
});
