// Where the CPU went during each phase: the machine (from /proc/stat), each child, and the suite itself
// (the load generator and its TCP-proxy thread), with the load generator's event-loop lag. A phase whose
// figures look bad on a saturated machine says more about the machine than about Orchard.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface PhaseMachine {
  /** Share of all cores busy (any process), 0..1. */
  machineBusy: number | null;
  load1m: number;
  /** Cores used, per child and by the suite. */
  cores: Record<string, number>;
  suiteLoopLagP99Ms: number;
}

const TICK = 100; // USER_HZ on Linux

function machineTicks(): { busy: number; total: number } | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3] + (cpu[4] ?? 0);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

function processSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime
  } catch {
    return null;
  }
}

export class Monitor {
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private at = 0;
  private machine: { busy: number; total: number } | null = null;
  private suite = process.cpuUsage();
  private children = new Map<string, { pid: number; s: number }>();

  constructor(private readonly pids: () => Record<string, number | undefined>) {
    this.lag.enable();
  }

  /** Starts a measurement window (a phase). */
  mark(): void {
    this.at = Date.now();
    this.machine = machineTicks();
    this.suite = process.cpuUsage();
    this.lag.reset();
    this.children.clear();
    for (const [name, pid] of Object.entries(this.pids())) {
      const s = pid ? processSeconds(pid) : null;
      if (pid && s !== null) this.children.set(name, { pid, s });
    }
  }

  /** The window since mark(). A child restarted during it is counted from its new start. */
  read(): PhaseMachine {
    const secs = Math.max(0.001, (Date.now() - this.at) / 1000);
    const m = machineTicks();
    const cores: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids())) {
      if (!pid) continue;
      const now = processSeconds(pid);
      if (now === null) continue;
      const before = this.children.get(name);
      const used = before && before.pid === pid ? now - before.s : now;
      cores[name] = round2(used / secs);
    }
    const u = process.cpuUsage(this.suite);
    cores.suite = round2((u.user + u.system) / 1e6 / secs);
    return {
      machineBusy: m && this.machine && m.total > this.machine.total ? round2((m.busy - this.machine.busy) / (m.total - this.machine.total)) : null,
      load1m: round2(os.loadavg()[0]),
      cores,
      suiteLoopLagP99Ms: Math.round(this.lag.percentile(99) / 1e6),
    };
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;
