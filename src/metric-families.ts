import client from 'prom-client';

/** A label value as the hot path has it (a status code stays a number until it is exposed). */
type Label = string | number;

/** The counts under one set of label values: a counter's value, or a histogram's observations. */
export interface Slot {
  readonly labels: Record<string, string>;
  count: number;
  sum: number;
  /** Per bucket (not cumulative), the observations at most its bound and above the one before. */
  readonly buckets: Float64Array | null;
}

/** One sample as prom-client's registry exposes and adds up across workers. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A Prometheus counter or histogram family (#16) whose counts are plain numbers in a slot per
 * set of label values, found through nested maps of the values as given: no label object is
 * checked, hashed or built per observation, which is most of what prom-client's own `inc` and
 * `observe` cost. It joins prom-client's registry as a metric of its own kind, so the scrape,
 * the text format and the `--workers` sum are prom-client's.
 */
export class Family {
  readonly aggregator = 'sum';
  private readonly root = new Map<Label, unknown>();
  private readonly slots: Slot[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[] = [],
  ) {
    if (labelNames.length < 1 || labelNames.length > 3)
      throw new Error(`metric ${name}: a family has one to three labels, not ${labelNames.length}`);
    client.register.registerMetric(this as unknown as client.Metric);
  }

  static counter(name: string, help: string, labelNames: readonly string[]): Family {
    return new Family(name, help, 'counter', labelNames);
  }

  static histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
  ): Family {
    return new Family(name, help, 'histogram', labelNames, bounds);
  }

  /**
   * The slot of these label values (as many as the family has names), made on first use. Look
   * it up each time: after a reset (`resetMetrics`) a slot kept from before is no longer exposed.
   */
  slot(a: Label, b?: Label, c?: Label): Slot {
    const n = this.labelNames.length;
    let level = this.root;
    if (n > 1) level = below(level, a);
    if (n > 2) level = below(level, b as Label);
    const last = (n === 1 ? a : n === 2 ? b : c) as Label;
    const found = (level.get(last) ?? aliased(level, last)) as Slot | undefined;
    return found ?? this.add(level, last, [a, b, c].slice(0, n) as Label[]);
  }

  /**
   * One more of a counter, or one observation of a histogram. A value that is not a finite
   * number is not counted (prom-client would throw; a NaN would spoil the sum for good).
   */
  observe(slot: Slot, value = 1): void {
    if (!Number.isFinite(value)) return;
    slot.count++;
    slot.sum += value;
    const buckets = slot.buckets;
    if (!buckets) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    if (i < bounds.length) buckets[i]! += 1;
  }

  /** For prom-client's registry: every slot's samples. */
  async get(): Promise<Exposed> {
    if (this.type === 'counter') return exposed(this, this.counts());
    const values: Sample[] = [];
    for (const slot of this.slots) {
      let below = 0;
      this.bounds.forEach((le, i) => {
        below += slot.buckets?.[i] ?? 0;
        values.push({ labels: { le, ...slot.labels }, value: below, metricName: `${this.name}_bucket` });
      });
      values.push({
        labels: { le: '+Inf', ...slot.labels },
        value: slot.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: slot.labels, value: slot.sum, metricName: `${this.name}_sum` });
      values.push({ labels: slot.labels, value: slot.count, metricName: `${this.name}_count` });
    }
    return exposed(this, values);
  }

  /** Each slot's count (a counter's value, a histogram's number of observations). */
  counts(): Sample[] {
    return this.slots.map((slot) => ({ labels: slot.labels, value: slot.count }));
  }

  /** For prom-client's registry (`resetMetrics`). */
  reset(): void {
    this.root.clear();
    this.slots.length = 0;
  }

  private add(level: Map<Label, unknown>, last: Label, values: Label[]): Slot {
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, i) => {
      labels[name] = String(values[i]);
    });
    const buckets = this.type === 'histogram' ? new Float64Array(this.bounds.length) : null;
    const slot: Slot = { labels, count: 0, sum: 0, buckets };
    level.set(last, slot);
    this.slots.push(slot);
    return slot;
  }
}

/**
 * A counter whose values are a histogram family's counts, as Prometheus users expect a
 * `_total` beside a duration histogram (sesame_http_requests_total): nothing more is kept.
 */
export class CountOf {
  readonly aggregator = 'sum';
  readonly type = 'counter';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly of: Family,
  ) {
    client.register.registerMetric(this as unknown as client.Metric);
  }

  async get(): Promise<Exposed> {
    return exposed(this, this.of.counts());
  }

  /** Reset with the histogram it counts. */
  reset(): void {}
}

type Exposed = { name: string; help: string; type: string; aggregator: string; values: Sample[] };

function exposed(metric: Omit<Exposed, 'values'>, values: Sample[]): Exposed {
  const { name, help, type, aggregator } = metric;
  return { name, help, type, aggregator, values };
}

/** The next level of the nested maps under `value`, made on first use. */
function below(level: Map<Label, unknown>, value: Label): Map<Label, unknown> {
  let next = (level.get(value) ?? aliased(level, value)) as Map<Label, unknown> | undefined;
  if (next) return next;
  next = new Map();
  level.set(value, next);
  return next;
}

/**
 * On a miss: what the level holds under the other spelling of the same label text (200 and
 * '200' are one series), kept under this spelling too, so only the first lookup pays.
 */
function aliased(level: Map<Label, unknown>, value: Label): unknown {
  const other = typeof value === 'number' ? String(value) : Number(value);
  if (String(other) !== String(value)) return undefined;
  const found = level.get(other);
  if (found !== undefined) level.set(value, found);
  return found;
}
