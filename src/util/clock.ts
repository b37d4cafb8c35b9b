/** The injected clock: everything that expires asks it for the time. */
export interface Clock {
  /** Current time in whole seconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000) };
