import { expect } from 'vitest';
import type { QueryListener } from '../../src/storage/sql/index.js';
import type { TestApp } from '../support/app.js';

/*
 * What the query budgets (query-budgets.test.ts, #16) count, and how they judge it: the statements
 * a request sent to the database, their kinds, the transaction they form, and the round trips
 * they took (on PostgreSQL a statement can be held back to go with a later one: `held`).
 */

/** One statement the database was sent during a counted request. */
export interface Statement {
  sql: string;
  failed: boolean;
  held: boolean;
}

/** What a request sent to the database, and the result of the request itself. */
export interface Counted<T> {
  result: T;
  statements: Statement[];
}

/**
 * Runs `request` (which reads the whole answer) with a listener on `rt.queries`, and returns every
 * statement run meanwhile. A short pause after the answer catches statements a handler leaves
 * running behind it (they cost the database all the same); the event log's batch timer (one second)
 * is restarted by the flush before the window, so it cannot fire inside it.
 */
export async function counted<T>(t: TestApp, request: () => Promise<T>): Promise<Counted<T>> {
  await t.rt.events.flush();
  const statements: Statement[] = [];
  const listener: QueryListener = ({ sql, failed, held }) => {
    statements.push({ sql, failed, held });
  };
  t.rt.queries.add(listener);
  try {
    const result = await request();
    await new Promise((resolve) => setTimeout(resolve, 25));
    return { result, statements };
  } finally {
    t.rt.queries.delete(listener);
  }
}

export type Kind = 'begin' | 'commit' | 'rollback' | 'savepoint' | 'write' | 'read';

/** What a statement does, judged by its text. */
export function kindOf(sql: string): Kind {
  const text = sql.trim().toLowerCase();
  if (/^(begin|start\s+transaction)\b/.test(text)) return 'begin';
  if (/^(commit|end)\b/.test(text)) return 'commit';
  if (/^rollback\s+to\b/.test(text) || /^(savepoint|release)\b/.test(text)) return 'savepoint';
  if (/^rollback\b/.test(text)) return 'rollback';
  if (/^(insert|update|delete|replace|merge|upsert)\b/.test(text)) return 'write';
  // a data-modifying CTE (`with … as (delete …)`, `with … insert into …`)
  if (/^with\b/.test(text) && /\b(insert\s+into|delete\s+from|update\s+"?\w+"?\s+set)\b/.test(text)) {
    return 'write';
  }
  return 'read';
}

/** The transactional shape of a request's statements. */
interface Shape {
  total: number;
  begins: number;
  commits: number;
  rollbacks: number;
  /** Statements inside a transaction (between a begin and its commit or rollback). */
  inside: number;
  readsOutside: number;
  writesOutside: number;
  failed: number;
}

function shapeOf(statements: Statement[]): Shape {
  const shape: Shape = {
    total: statements.length,
    begins: 0,
    commits: 0,
    rollbacks: 0,
    inside: 0,
    readsOutside: 0,
    writesOutside: 0,
    failed: 0,
  };
  let open = false;
  for (const { sql, failed } of statements) {
    if (failed) shape.failed++;
    const kind = kindOf(sql);
    if (kind === 'begin') {
      shape.begins++;
      open = true;
    } else if (kind === 'commit' || kind === 'rollback') {
      if (kind === 'commit') shape.commits++;
      else shape.rollbacks++;
      open = false;
    } else if (open) shape.inside++;
    else if (kind === 'write') shape.writesOutside++;
    else if (kind === 'read') shape.readsOutside++;
  }
  return shape;
}

/** The statements, numbered, marked by kind and whether they ran inside a transaction. */
export function listing(label: string, statements: Statement[]): string {
  if (statements.length === 0) return `${label}: no statements`;
  let open = false;
  const lines = statements.map(({ sql, failed, held }, i) => {
    const kind = kindOf(sql);
    if (kind === 'begin') open = true;
    const where = open || kind === 'commit' || kind === 'rollback' ? 'tx ' : '   ';
    if (kind === 'commit' || kind === 'rollback') open = false;
    const text = sql.replace(/\s+/g, ' ').trim();
    return `  ${String(i + 1).padStart(2)}. ${where}${kind.padEnd(8)}${failed ? ' FAILED' : ''}${held ? ' (held)' : ''} ${text.length > 240 ? `${text.slice(0, 240)}…` : text}`;
  });
  return `${label}: ${statements.length} statement(s)\n${lines.join('\n')}`;
}

/** At most `max` statements in all. */
export function expectAtMost(label: string, statements: Statement[], max: number): void {
  expect
    .soft(statements.length, `${label}: budget is at most ${max} statement(s)\n${listing(label, statements)}`)
    .toBeLessThanOrEqual(max);
}

/** At most `max` round trips: statements not held back to go with a later one. */
export function expectRoundTripsAtMost(label: string, statements: Statement[], max: number): void {
  expect
    .soft(
      statements.filter((s) => !s.held).length,
      `${label}: budget is at most ${max} round trip(s)\n${listing(label, statements)}`,
    )
    .toBeLessThanOrEqual(max);
}

/**
 * One token response, one transaction: exactly one begin and one commit (no rollback), no write
 * outside it, and at most `readsOutside` reads outside it (client authentication).
 */
export function expectOneTransaction(label: string, statements: Statement[], readsOutside: number): void {
  const shape = shapeOf(statements);
  const message = `${label}: budget is one transaction (1 begin, 1 commit, no write outside it, at most ${readsOutside} read(s) outside it); seen ${JSON.stringify(shape)}\n${listing(label, statements)}`;
  expect
    .soft(
      {
        begins: shape.begins,
        commits: shape.commits,
        rollbacks: shape.rollbacks,
        writesOutside: shape.writesOutside,
        failed: shape.failed,
      },
      message,
    )
    .toEqual({ begins: 1, commits: 1, rollbacks: 0, writesOutside: 0, failed: 0 });
  expect.soft(shape.readsOutside, message).toBeLessThanOrEqual(readsOutside);
}
