// Sesame's own metric families (src/metric-families.ts) must expose exactly what prom-client's
// Counter and Histogram would for the same observations: the same samples, the same text, the
// same sum across --workers.
import client from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CountOf, Family } from '../../src/metric-families.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];

afterEach(() => client.register.clear());

/** prom-client's own text for one metric, from a registry of its own. */
async function text(metric: client.Metric): Promise<string> {
  const registry = new client.Registry();
  registry.registerMetric(metric);
  return registry.metrics();
}

describe('metric families', () => {
  it('a histogram exposes what prom-client’s Histogram does, bounds included, for the same observations', async () => {
    const family = new Family('t_seconds', 'Test.', 'histogram', ['route', 'status'], BOUNDS);
    const theirs = new client.Histogram({
      name: 't_seconds',
      help: 'Test.',
      labelNames: ['route', 'status'],
      buckets: BOUNDS,
      registers: [],
    });
    const values = [0, 0.001, 0.0011, 0.01, 0.05, 0.1, 1, 1.5, 42, 0.0005];
    for (const [i, v] of values.entries()) {
      const route = i % 3 ? '/a' : '/b';
      const status = i % 2 ? 200 : 404;
      family.observe(family.slot(route, status), v);
      theirs.observe({ route, status: String(status) }, v);
    }
    expect(await text(family as unknown as client.Metric)).toBe(await text(theirs));
    expect(`${await client.register.getSingleMetricAsString('t_seconds')}\n`).toBe(await text(theirs));
  });

  it('a counter and a count of a histogram expose what prom-client’s Counter does', async () => {
    const family = new Family('t_events_total', 'Events.', 'counter', ['type']);
    const timed = new Family('t_d_seconds', 'D.', 'histogram', ['route', 'method', 'status'], BOUNDS);
    const count = new CountOf('t_requests_total', 'Requests.', timed);
    const events = new client.Counter({
      name: 't_events_total',
      help: 'Events.',
      labelNames: ['type'],
      registers: [],
    });
    const requests = new client.Counter({
      name: 't_requests_total',
      help: 'Requests.',
      labelNames: ['route', 'method', 'status'],
      registers: [],
    });
    for (const type of ['s', 'f', 's', 'fp', 's']) {
      family.observe(family.slot(type));
      events.inc({ type });
    }
    for (const [route, method, status] of [
      ['/t', 'POST', 200],
      ['/t', 'POST', 401],
      ['/t', 'GET', 200],
      ['/t', 'POST', 200],
    ] as const) {
      timed.observe(timed.slot(route, method, status), 0.002);
      requests.inc({ route, method, status: String(status) });
    }
    expect(await text(family as unknown as client.Metric)).toBe(await text(events));
    expect(await text(count as unknown as client.Metric)).toBe(await text(requests));
  });

  it('adds up across workers as prom-client’s aggregation does, and starts over on reset', async () => {
    const family = new Family('t_w_seconds', 'W.', 'histogram', ['kind'], BOUNDS);
    family.observe(family.slot('select'), 0.005);
    family.observe(family.slot('insert'), 2);
    const one = await client.register.getMetricsAsJSON();
    const both = client.AggregatorRegistry.aggregate([one, one]);
    const page = await both.getSingleMetricAsString('t_w_seconds');
    expect(page).toContain('t_w_seconds_bucket{le="0.01",kind="select"} 2');
    expect(page).toContain('t_w_seconds_bucket{le="1",kind="insert"} 0');
    expect(page).toContain('t_w_seconds_count{kind="insert"} 2');
    expect(page).toContain('t_w_seconds_sum{kind="insert"} 4');
    client.register.resetMetrics();
    expect((await family.get()).values).toEqual([]);
    family.observe(family.slot('select'), 0.005);
    expect((await family.get()).values.find((v) => v.metricName === 't_w_seconds_count')?.value).toBe(1);
  });

  it('keeps one slot per set of values; a status as a number or as text is one series', async () => {
    const family = new Family('t_s_total', 'S.', 'counter', ['route', 'status']);
    expect(family.slot('/a', 200)).toBe(family.slot('/a', 200));
    expect(family.slot('/a', 200)).not.toBe(family.slot('/a', 201));
    expect(family.slot('/a', 200)).not.toBe(family.slot('/b', 200));
    expect(family.slot('/a', 200).labels).toEqual({ route: '/a', status: '200' });
    expect(family.slot('/a', '200')).toBe(family.slot('/a', 200));
    expect(family.slot('/c', '201')).toBe(family.slot('/c', 201));
    expect(family.slot(404, 'x')).toBe(family.slot('404', 'x'));
    expect(family.slot('/a', '0200')).not.toBe(family.slot('/a', 200));
    expect((await family.get()).values.map((v) => v.labels)).toHaveLength(6);
  });

  it('counts no value that is not a finite number, and refuses a family of no or four labels', async () => {
    const family = new Family('t_n_seconds', 'N.', 'histogram', ['kind'], BOUNDS);
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, 0.5]) family.observe(family.slot('k'), v);
    const values = (await family.get()).values;
    expect(values.find((v) => v.metricName === 't_n_seconds_count')?.value).toBe(1);
    expect(values.find((v) => v.metricName === 't_n_seconds_sum')?.value).toBe(0.5);
    expect(() => new Family('t_none', 'X.', 'counter', [])).toThrow(/one to three labels/);
    expect(() => new Family('t_four', 'X.', 'counter', ['a', 'b', 'c', 'd'])).toThrow(/one to three labels/);
  });
});
