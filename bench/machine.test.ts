import { describe, expect, it } from 'vitest';
import { describeMachine, infoField, machineShare, parseCpuInfo, parseMachineCpu } from './machine';

describe('parseMachineCpu', () => {
  it('reads busy time (user, nice, system, irq, softirq) and steal from the aggregate cpu line, in seconds', () => {
    const stat = [
      'cpu  58081 24 12162 92677 662 0 810 51 0 0',
      'cpu0 29142 14 5115 47558 110 0 300 17 0 0',
      'intr 1234 0 0',
    ].join('\n');
    expect(parseMachineCpu(stat)).toEqual({ busy: (58081 + 24 + 12162 + 0 + 810) / 100, steal: 0.51 });
  });

  it('counts neither idle, iowait nor steal as busy, and guest time once (it is inside user and nice)', () => {
    const idle = parseMachineCpu('cpu  100 0 100 5000 0 0 0 0 0 0');
    expect(parseMachineCpu('cpu  100 0 100 5000 9000 0 0 0 0 0').busy).toBe(idle.busy);
    expect(parseMachineCpu('cpu  100 0 100 5000 0 0 0 700 0 0')).toEqual({ busy: idle.busy, steal: 7 });
    expect(parseMachineCpu('cpu  100 0 100 5000 0 0 0 0 60 40').busy).toBe(idle.busy);
  });

  it('reads an old kernel line without steal as none', () => {
    expect(parseMachineCpu('cpu  100 0 100 5000 0 0 0')).toEqual({ busy: 2, steal: 0 });
  });

  it('refuses a text without the aggregate line', () => {
    expect(() => parseMachineCpu('cpu0 1 2 3 4\n')).toThrow(/no "cpu" line/);
  });
});

describe('infoField', () => {
  const info = '# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n';

  it('reads a field of an INFO text', () => {
    expect(infoField(info, 'redis_version')).toBe('7.0.15');
  });

  it('gives null for a field the text does not have, and does not match a prefix of another', () => {
    expect(infoField(info, 'redis')).toBeNull();
    expect(infoField(info, 'os')).toBeNull();
  });
});

describe('parseCpuInfo', () => {
  it("reads the first processor's name, family, model number and clock", () => {
    const text = [
      'processor\t: 0',
      'vendor_id\t: AuthenticAMD',
      'cpu family\t: 26',
      'model\t\t: 2',
      'model name\t: AMD EPYC',
      'cpu MHz\t\t: 2596.122',
      '',
      'processor\t: 1',
      'cpu family\t: 25',
      'model\t\t: 1',
      'model name\t: another',
      '',
    ].join('\n');
    expect(parseCpuInfo(text)).toEqual({ model: 'AMD EPYC', family: 26, modelNumber: 2, mhz: 2596.122 });
  });

  it('gives null for what a cpuinfo does not say (an ARM guest has no model name or clock)', () => {
    expect(parseCpuInfo('processor\t: 0\nBogoMIPS\t: 50.00\n')).toEqual({ model: null, family: null, modelNumber: null, mhz: null });
  });
});

describe('machineShare', () => {
  it('gives the busy time no measured process spent, unrounded until the end, and the steal over the window', () => {
    const before = { busy: 100, steal: 1 };
    const after = { busy: 123.44, steal: 1.5 };
    // Six processes' deltas that would round to 23.2 together: elsewhere is 0.0, not 0.2.
    expect(machineShare(before, after, 8.84 + 6.34 + 4.94 + 1.34 + 1.14 + 0.84)).toEqual({ busySeconds: 23.4, elsewhereSeconds: 0, stealSeconds: 0.5 });
    expect(machineShare(before, after, 20.4)).toEqual({ busySeconds: 23.4, elsewhereSeconds: 3, stealSeconds: 0.5 });
  });

  it('shows a reading noise below zero as it is, not as zero', () => {
    expect(machineShare({ busy: 10, steal: 0 }, { busy: 20, steal: 0 }, 10.2).elsewhereSeconds).toBe(-0.2);
  });
});

describe('describeMachine', () => {
  it('names the CPU and Node, and gives null for servers it cannot reach, without waiting for them', async () => {
    const started = Date.now();
    const line = await describeMachine({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', redisUrl: 'redis://127.0.0.1:1' });
    expect(line).toMatchObject({ measure: 'machine', node: process.version, postgres: null, redis: null });
    expect(line.cpus).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('does not ask the servers when the run uses none', async () => {
    expect(await describeMachine(null)).toMatchObject({ postgres: null, redis: null });
  });
});
