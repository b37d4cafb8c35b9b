import type { Logger } from 'pino';
import type { LogEvent, LogRepository } from '../storage/types.js';
import { type Clock, nowMs } from '../util/clock.js';
import { randomToken } from '../util/crypto.js';
import { redact } from './redact.js';
import { describe, type EventType } from './types.js';

/** What a caller says happened; the id, date and default description are filled in. */
export interface NewEvent {
  type: EventType;
  description?: string;
  clientId?: string | undefined;
  clientName?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  userId?: string | undefined;
  userName?: string | undefined;
  audience?: string | undefined;
  scope?: string | undefined;
  details?: Record<string, unknown>;
}

/** The optional fields and the longest value each column holds. */
const LIMITS = [
  ['clientId', 64],
  ['clientName', 255],
  ['ip', 64],
  ['userAgent', 512],
  ['userId', 64],
  ['userName', 255],
  ['audience', 2048],
  ['scope', 8192],
] as const;

/** Events waiting to be written together: at most this many, or this long (ms). */
const BATCH_SIZE = 500;
const BATCH_DELAY = 1000;

/**
 * Records log events. `record` writes at once (failures, admin changes: written before the
 * answer); `later` queues an event (token-endpoint successes) and writes the queue in one
 * statement within a second, so the hot path pays no write of its own. What is queued when the
 * process dies is lost; `flush` writes it now (the server calls it on shutdown).
 */
export class EventLog {
  #queue: [number, NewEvent][] = [];
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();
  /** Told the type of every event recorded or queued (metrics). */
  observer: ((type: NewEvent['type']) => void) | null = null;

  constructor(
    private readonly repo: LogRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Writes the event now. A failure to write is logged, never thrown at the caller. */
  async record(event: NewEvent): Promise<void> {
    this.observer?.(event.type);
    try {
      await this.repo.insert([newLogEvent(this.clock, event)]);
    } catch (err) {
      this.logger.error({ err, type: event.type }, 'a log event could not be written');
    }
  }

  /**
   * Queues the event; it is written with others within a second. Only the time is taken now:
   * the row is built when the batch is written, off the answer's path.
   */
  later(event: NewEvent): void {
    this.observer?.(event.type);
    this.#queue.push([nowMs(this.clock), event]);
    if (this.#queue.length >= BATCH_SIZE) void this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), BATCH_DELAY);
      this.#timer.unref();
    }
  }

  /** Writes every queued event; resolves when they (and earlier batches) are stored. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#queue;
    this.#queue = [];
    this.#writing = this.#writing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.repo.insert(batch.map(([ms, e]) => logEvent(ms, e)));
      } catch (err) {
        this.logger.error({ err, lost: batch.length }, 'log events could not be written');
      }
    });
    return this.#writing;
  }
}

/** This process's mark in log ids, so that ids made in the same millisecond by two instances differ. */
const INSTANCE = randomToken(6);
let counter = 0;

/** The event to store: a time-ordered id, the date, the type's description, details without secrets. */
export function newLogEvent(clock: Clock, e: NewEvent): LogEvent {
  return logEvent(nowMs(clock), e);
}

/** The event to store, as it happened at `ms`. */
function logEvent(ms: number, e: NewEvent): LogEvent {
  // Time first, so ids sort by time; a counter and the instance's mark keep them unique.
  counter = (counter + 1) % 1e6;
  const logId = `${ms.toString().padStart(13, '0')}${counter.toString().padStart(6, '0')}${INSTANCE}`;
  const out: LogEvent = {
    logId,
    date: ms,
    type: e.type,
    description: (e.description ?? describe(e.type)).slice(0, 1024),
    details: e.details === undefined ? {} : (redact(e.details) as Record<string, unknown>),
  };
  for (const [k, max] of LIMITS) {
    const v = e[k];
    if (v !== undefined) out[k] = v.slice(0, max);
  }
  return out;
}

/** Writes an event now through `logs` (a transaction's, so that it lands with the change it tells of). */
export function writeEvent(logs: LogRepository, clock: Clock, e: NewEvent): Promise<void> {
  return logs.insert([newLogEvent(clock, e)]);
}
