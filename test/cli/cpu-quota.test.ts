// `sesame start` without --workers in production starts one worker per core this process may
// use: a container's CPU quota counts (cgroup v2 cpu.max, v1 cfs quota), not the host's CPUs.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { cpuQuota, defaultWorkers } from '../../src/cli/workers.js';

/** A /sys and /proc made of these files. */
const files =
  (entries: Record<string, string>) =>
  (path: string): string | null =>
    entries[path] ?? null;

describe('CPU quota and the default number of workers', () => {
  it('cgroup v2: cpu.max of the own group, else of the root; "max" is no limit', () => {
    expect(
      cpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' })),
    ).toBeNull();
    expect(
      cpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000\n' })),
    ).toBe(1.5);
    expect(
      cpuQuota(
        files({
          '/proc/self/cgroup': '0::/kubepods/pod1/c1\n',
          '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '200000 100000',
          '/sys/fs/cgroup/cpu.max': 'max 100000',
        }),
      ),
    ).toBe(2);
    // the own group's file is not visible (a cgroup namespace): the root as the container sees it
    expect(
      cpuQuota(files({ '/proc/self/cgroup': '0::/docker/abc\n', '/sys/fs/cgroup/cpu.max': '50000 100000' })),
    ).toBe(0.5);
    // the own group has no limit, a parent (the pod, a systemd slice) has: the parent's counts
    expect(
      cpuQuota(
        files({
          '/proc/self/cgroup': '0::/kubepods/pod1/c1\n',
          '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': 'max 100000',
          '/sys/fs/cgroup/kubepods/pod1/cpu.max': '250000 100000',
          '/sys/fs/cgroup/cpu.max': 'max 100000',
        }),
      ),
    ).toBe(2.5);
    // several limits on the way up: the smallest
    expect(
      cpuQuota(
        files({
          '/proc/self/cgroup': '0::/a/b\n',
          '/sys/fs/cgroup/a/b/cpu.max': '400000 100000',
          '/sys/fs/cgroup/a/cpu.max': '100000 100000',
          '/sys/fs/cgroup/cpu.max': '800000 100000',
        }),
      ),
    ).toBe(1);
  });

  it('cgroup v1: cfs_quota_us ÷ cfs_period_us, -1 being no limit; nothing readable is no limit', () => {
    const v1 = (quota: string) =>
      files({
        '/proc/self/cgroup': '4:cpu,cpuacct:/\n',
        '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': `${quota}\n`,
        '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
      });
    expect(cpuQuota(v1('-1'))).toBeNull();
    expect(cpuQuota(v1('300000'))).toBe(3);
    expect(cpuQuota(files({}))).toBeNull();
    expect(cpuQuota(files({ '/sys/fs/cgroup/cpu.max': 'garbage' }))).toBeNull();
  });

  it('production: the quota rounded up, at least one, at most the CPUs there are; otherwise one', () => {
    const cores = availableParallelism();
    const production = { NODE_ENV: 'production' };
    expect(defaultWorkers(production, () => null)).toBe(cores);
    expect(defaultWorkers(production, () => 0.5)).toBe(1);
    expect(defaultWorkers(production, () => 1.5)).toBe(Math.min(cores, 2));
    expect(defaultWorkers(production, () => 10_000)).toBe(cores);
    // outside production the quota is not even read
    const unread = () => {
      throw new Error('read the quota');
    };
    expect(defaultWorkers({ NODE_ENV: 'development' }, unread)).toBe(1);
    expect(defaultWorkers({}, unread)).toBe(1);
  });
});
