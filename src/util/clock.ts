/** The injected clock: everything that expires asks it for the time. */
export interface Clock {
  /** Current time in whole seconds since the epoch. */
  now(): number;
  /** Milliseconds since the epoch, where the clock knows them (log events); else now() × 1000. */
  nowMs?(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000), nowMs: () => Date.now() };

/** The clock's time in milliseconds since the epoch. */
export const nowMs = (clock: Clock): number => clock.nowMs?.() ?? clock.now() * 1000;
