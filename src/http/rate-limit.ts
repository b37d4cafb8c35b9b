import { throttleAddress } from '../util/ip.js';

/**
 * A per-address budget of `perMinute` uses in each clock minute, kept in this process (it
 * bounds what one address can make an instance store; every instance has its own budget).
 * The map is emptied when the minute turns, so it never holds more than a minute's addresses.
 */
export class RateLimit {
  private readonly counts = new Map<string, number>();
  private minute = -1;

  constructor(private readonly perMinute: number) {}

  /** Counts one use by `address` at `now` (seconds): 0 when allowed, else the seconds to wait. */
  take(address: string, now: number): number {
    const minute = Math.floor(now / 60);
    if (minute !== this.minute) {
      this.counts.clear();
      this.minute = minute;
    }
    const key = throttleAddress(address);
    const used = this.counts.get(key) ?? 0;
    if (used >= this.perMinute) return (minute + 1) * 60 - Math.floor(now);
    this.counts.set(key, used + 1);
    return 0;
  }
}

/** The budgets of what anonymous callers can make Sesame store (#14 §8). */
export interface Limits {
  interactions: RateLimit;
  deviceCodes: RateLimit;
}

export function limitsOf(config: {
  session: { interactionsPerMinute: number };
  device: { codesPerMinute: number };
}): Limits {
  return {
    interactions: new RateLimit(config.session.interactionsPerMinute),
    deviceCodes: new RateLimit(config.device.codesPerMinute),
  };
}
