import pino from 'pino';
import { createApi, type NewApi } from '../../src/admin/apis.js';
import {
  authorizeApplication,
  createApplication,
  type NewApplication,
} from '../../src/admin/applications.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { createServer } from '../../src/server.js';
import type { Api } from '../../src/storage/types.js';
import type { Clock } from '../../src/util/clock.js';
import { type Backend, createTestDatabase } from './databases.js';

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  constructor(public t = Math.floor(Date.now() / 1000)) {}
  now(): number {
    return this.t;
  }
  advance(seconds: number): void {
    this.t += seconds;
  }
}

export const TEST_ISSUER = 'https://sesame.test';

/** Sesame in-process on a fresh database, with helpers to register what a test needs. */
export interface TestApp {
  rt: Runtime;
  clock: TestClock;
  issuer: string;
  /** Sends a request to the app in-process (usable as openid-client's customFetch). */
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  createApi(input?: Partial<NewApi>): Promise<Api>;
  createApp(input: NewApplication): Promise<{ clientId: string; clientSecret?: string }>;
  /** An m2m application authorized for `api` with `scopes`. */
  createM2m(api: Api, scopes?: string[]): Promise<{ clientId: string; clientSecret: string }>;
  close(): Promise<void>;
}

let counter = 0;

/** Starts Sesame on `backend` with a fresh database; `config` overrides the test defaults. */
export async function startTestApp(backend: Backend, config: Partial<ConfigInput> = {}): Promise<TestApp> {
  const db = await createTestDatabase(backend);
  const clock = new TestClock();
  const cfg = parseConfig({
    issuer: TEST_ISSUER,
    dataDir: db.dataDir,
    databaseUrl: db.url,
    secret: 'test-secret-that-is-at-least-32-characters',
    logLevel: 'silent',
    ...config,
    // The per-address budgets (#14 §8) would count every in-process request as one address
    // under a clock that stands still; the suites that test them set their own.
    session: { interactionsPerMinute: 1_000_000, ...config.session },
    device: { codesPerMinute: 1_000_000, ...config.device },
  });
  const rt = await openRuntime(cfg, { clock, logger: pino({ level: 'silent' }), server: true });
  await rt.keys.ensure(cfg.keys.algorithms);
  const app = createServer(rt);
  const fetch = async (input: string | URL | Request, init?: RequestInit) =>
    app.fetch(input instanceof Request && !init ? input : new Request(input, init));
  return {
    rt,
    clock,
    issuer: cfg.issuer,
    fetch,
    createApi: (input = {}) =>
      createApi(
        rt.storage,
        clock,
        {
          name: 'Test API',
          identifier: `https://api.test/${++counter}`,
          scopes: ['read:things=Read things', 'write:things=Write things'],
          ...input,
        },
        cfg.accessToken.defaultLifetime,
      ),
    async createApp(input) {
      const { app: created, clientSecret } = await createApplication(rt.storage, clock, input);
      return clientSecret ? { clientId: created.clientId, clientSecret } : { clientId: created.clientId };
    },
    async createM2m(api, scopes = api.scopes.map((s) => s.name)) {
      const { app: created, clientSecret } = await createApplication(rt.storage, clock, {
        name: 'M2M',
        type: 'm2m',
      });
      await authorizeApplication(rt.storage, clock, created.clientId, api.identifier, scopes);
      return { clientId: created.clientId, clientSecret: clientSecret! };
    },
    async close() {
      await rt.mail.stop();
      await rt.events.flush();
      await rt.storage.close();
      await db.drop();
    },
  };
}
