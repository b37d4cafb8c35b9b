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

/** A lifetime in words, as pages and emails state it: "1 hour", "24 hours", "90 minutes". */
export function forHowLong(seconds: number): string {
  const [n, unit] =
    seconds % 3600 === 0
      ? [seconds / 3600, 'hour']
      : seconds % 60 === 0
        ? [seconds / 60, 'minute']
        : [seconds, 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
