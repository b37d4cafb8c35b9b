import { describe, expect, it } from 'vitest';
import { checkPassword, hashPassword, passwordWork } from '../../src/accounts/password.js';

/** #16: argon2 takes a thread and 7 MiB per computation; at most two run at once, the rest wait their turn. */
describe('argon2 work at once', () => {
  it('runs at most two hashes or checks at a time and finishes them all, in order, correctly', async () => {
    const stored = await hashPassword('correct horse battery staple');
    let most = 0;
    let queuedSeen = 0;
    const watch = setInterval(() => {
      const w = passwordWork();
      most = Math.max(most, w.running);
      queuedSeen = Math.max(queuedSeen, w.queued);
    }, 1);
    try {
      const checks = Array.from({ length: 8 }, (_, i) =>
        checkPassword(stored, i % 2 === 0 ? 'correct horse battery staple' : 'wrong'),
      );
      await new Promise((resolve) => setImmediate(resolve)); // the checks have reached the queue
      await new Promise((resolve) => setImmediate(resolve)); // the checks have reached the queue
      const w = passwordWork();
      expect(w.running).toBe(2);
      expect(w.queued).toBeGreaterThanOrEqual(6); // the first check also makes the dummy hash once
      expect(await Promise.all(checks)).toEqual([true, false, true, false, true, false, true, false]);
    } finally {
      clearInterval(watch);
    }
    expect(most).toBe(2);
    expect(queuedSeen).toBeGreaterThan(0);
    expect(passwordWork()).toEqual({ running: 0, queued: 0 });
  });
});
