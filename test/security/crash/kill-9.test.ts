// No acknowledged write is lost: a mixed load (logins, code exchanges, refreshes, revocations,
// client-credentials tokens, and an operator at the CLI) runs against one `sesame start`, which
// is killed with SIGKILL mid-load and restarted on the same database. Every answer the clients
// saw must still hold, and no row may be half-written. SESAME_CRASH_LONG=1 runs longer rounds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertBuilt, freePort, killAll } from '../../e2e/process.js';
import type { Credentials } from '../../protocol/sign-in/agent.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../../support/databases.js';
import {
  type Deployment,
  deployment,
  type Fixtures,
  type Node,
  registerFixtures,
  sleep,
  startNode,
} from '../instances/harness.js';
import { openSql, type Sql, schemaViolations } from './db.js';
import {
  adminLoop,
  checkAnswers,
  checkReplays,
  checkRows,
  clientCredentialsLoop,
  Ledger,
  type LoadContext,
  lastRotation,
  userLoop,
} from './load.js';

const LONG = process.env.SESAME_CRASH_LONG === '1';
const ROUNDS = LONG ? 3 : 1;
const DURATION_MS = LONG ? 30_000 : 8_000;
const USER_LOOPS = LONG ? 4 : 3;
const CC_LOOPS = 2;
/** Seconds a rotated refresh token still works (kept short so the check past it is quick). */
const GRACE = 2;

beforeAll(() => assertBuilt());
afterAll(() => killAll());

describeEachBackend('crash: kill -9 under load loses no acknowledged write', (backend) => {
  let db: TestDatabase;
  let d: Deployment;
  let node: Node;
  let f: Fixtures & { users: Credentials[] };
  let sql: Sql | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    const port = await freePort();
    // Every sign-in comes from 127.0.0.1: past the default 60 a minute, /authorize answers 429,
    // and a fast server reaches that within a round. The limit is not what this suite tests.
    const config = join(db.dataDir, 'crash-config.json');
    writeFileSync(config, JSON.stringify({ session: { interactionsPerMinute: 1_000_000 } }));
    d = deployment(db.url, db.dataDir, port, {
      SESAME_CONFIG: config,
      SESAME_REFRESH_REUSE_GRACE: String(GRACE),
      // codes outlive the run, so that a replay meets the consumed code, never an expired one
      SESAME_CODE_LIFETIME: '600',
    });
    node = await startNode(d, 'S', port);
    f = await registerFixtures(d.env, USER_LOOPS - 1);
  }, 90_000);

  afterAll(async () => {
    await node?.proc.kill();
    await sql?.close().catch(() => {});
    await db?.drop().catch(() => {});
  });

  for (let round = 0; round < ROUNDS; round++) {
    it(`round ${round + 1}/${ROUNDS}: SIGKILL mid-load, restart on the same database, every acknowledged answer holds`, {
      timeout: DURATION_MS + 90_000,
    }, async () => {
      const ledger = new Ledger();
      const started = Date.now();
      // the loops stop by themselves at the kill, or at the latest here
      const deadline = started + DURATION_MS + 10_000;
      let killed = false;
      const ctx: LoadContext = {
        node,
        f,
        env: d.env,
        ledger,
        stopped: () => killed || Date.now() > deadline,
        killed: () => killed,
      };
      const loops = [
        ...Array.from({ length: CC_LOOPS }, () => clientCredentialsLoop(ctx)),
        ...f.users.map((u) => userLoop(ctx, u)),
        adminLoop(ctx),
      ];
      // mid-load: at a random moment in the middle of the run, once every kind of write was answered
      await sleep(DURATION_MS * (0.35 + 0.4 * Math.random()));
      const kinds = () => {
        const { logins, exchanges, refreshes, revocations, clientCredentials } = ledger.counts;
        return { logins, exchanges, refreshes, revocations, clientCredentials };
      };
      while (Object.values(kinds()).includes(0) && Date.now() < deadline - 1_000) await sleep(50);
      const victim = node.proc;
      const running = victim.exit() === null;
      victim.child.kill('SIGKILL');
      killed = true;
      const killedAfter = Date.now() - started;
      const exit = await victim.exited;
      await Promise.all(loops);
      expect(running, 'the process was still running at the kill').toBe(true);
      expect(exit.signal).toBe('SIGKILL');
      const summary = `killed after ${killedAfter} ms; ${JSON.stringify(ledger.counts)}`;
      const idle = Object.entries(kinds())
        .filter(([, n]) => n === 0)
        .map(([k]) => k);
      expect(idle, `every kind of write was answered before the kill; ${summary}`).toEqual([]);

      node = await startNode(d, 'S', node.port);
      sql ??= await openSql(db.url);
      const wait = lastRotation(ledger) + (GRACE + 1) * 1000 - Date.now();
      if (wait > 0) await sleep(wait);

      const checked = { tokens: 0 };
      const report = {
        unexpectedDuringLoad: ledger.unexpected,
        answers: await checkAnswers(node, f, ledger, checked),
        rows: await checkRows(sql, ledger),
        invariants: await schemaViolations(sql, GRACE),
        replays: await checkReplays(node, f, ledger),
        invariantsAfterReplays: await schemaViolations(sql, GRACE),
      };
      console.info(`[${backend}] ${summary}; ${checked.tokens} tokens introspected after the restart`);
      expect(report, summary).toEqual({
        unexpectedDuringLoad: [],
        answers: [],
        rows: [],
        invariants: [],
        replays: [],
        invariantsAfterReplays: [],
      });
    });
  }
});
