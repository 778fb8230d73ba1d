// Child processes of the fault suite: `orchard serve` and `orchard worker`, each logging to a file in the
// run dir. Every exit is recorded with whether the suite caused it; an exit the suite did not cause is
// a failure of the product (and the process is started again, so the run goes on).
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExitRecord {
  name: string;
  pid: number;
  code: number | null;
  signal: string | null;
  /** Seconds since the suite started. */
  at: number;
  /** The suite caused it (kill -9, SIGTERM, end of a phase, shutdown). */
  expected: boolean;
  reason: string;
}

interface Managed {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port?: number;
  proc: ChildProcess | null;
  exited: Promise<ExitRecord> | null;
  /** Set just before the suite signals it: the next exit is ours. */
  expecting: string | null;
  /** Restart after an unexpected exit. */
  keepAlive: boolean;
}

export class Supervisor {
  readonly exits: ExitRecord[] = [];
  private readonly children = new Map<string, Managed>();
  private shuttingDown = false;

  constructor(
    private readonly root: string,
    private readonly runDir: string,
    private readonly t0: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts (or restarts) a named child: `node bin/orchard.js <args>` with env on top of the base env. */
  start(name: string, args: string[], env: NodeJS.ProcessEnv, opts: { port?: number; keepAlive?: boolean } = {}): void {
    const existing = this.children.get(name);
    if (existing?.proc && existing.proc.exitCode === null && existing.proc.signalCode === null) throw new Error(`${name} is already running`);
    const m: Managed = existing ?? { name, args, env, port: opts.port, proc: null, exited: null, expecting: null, keepAlive: opts.keepAlive ?? true };
    Object.assign(m, { args, env, port: opts.port ?? m.port, expecting: null });
    this.children.set(name, m);
    const fd = openSync(path.join(this.runDir, `${name}.log`), 'a');
    const proc = spawn(process.execPath, [path.join(this.root, 'bin/orchard.js'), ...args], {
      cwd: this.root,
      env,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    m.proc = proc;
    m.exited = new Promise<ExitRecord>((resolve) => {
      proc.once('exit', (code, signal) => {
        const expected = m.expecting !== null || this.shuttingDown;
        const rec: ExitRecord = {
          name,
          pid: proc.pid ?? -1,
          code,
          signal,
          at: this.now(),
          expected,
          reason: m.expecting ?? (this.shuttingDown ? 'suite shutdown' : 'UNEXPECTED'),
        };
        m.expecting = null;
        this.exits.push(rec);
        if (!expected) {
          this.log(`!! ${name} (pid ${rec.pid}) exited on its own: code ${code} signal ${signal} — see ${name}.log`);
          if (m.keepAlive && !this.shuttingDown) {
            setTimeout(() => {
              if (!this.shuttingDown && m.proc === proc) {
                this.log(`   restarting ${name}`);
                this.start(name, m.args, m.env);
              }
            }, 1000).unref();
          }
        }
        resolve(rec);
      });
    });
  }

  pid(name: string): number | undefined {
    return this.children.get(name)?.proc?.pid;
  }

  running(name: string): boolean {
    const p = this.children.get(name)?.proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** Sends a signal the suite owns up to; resolves with the exit record once the process is gone. */
  async signal(name: string, signal: NodeJS.Signals, reason: string, timeoutMs = 20_000): Promise<ExitRecord | null> {
    const m = this.children.get(name);
    if (!m?.proc || !this.running(name)) return null;
    m.expecting = reason;
    const exited = m.exited!;
    m.proc.kill(signal);
    const timer = sleep(timeoutMs).then(() => null);
    const rec = await Promise.race([exited, timer]);
    if (!rec) {
      this.log(`   ${name} did not exit within ${timeoutMs} ms of ${signal}: SIGKILL`);
      m.proc.kill('SIGKILL');
      return exited;
    }
    return rec;
  }

  /** Restarts a child that the suite stopped, with the same arguments (or other env). */
  restart(name: string, env?: NodeJS.ProcessEnv): void {
    const m = this.children.get(name);
    if (!m) throw new Error(`unknown child ${name}`);
    this.start(name, m.args, env ?? m.env);
  }

  /** Stops one child for good (it is not restarted). */
  async stop(name: string, reason: string): Promise<ExitRecord | null> {
    const m = this.children.get(name);
    if (m) m.keepAlive = false;
    return this.signal(name, 'SIGTERM', reason);
  }

  /** End of the run: SIGTERM everyone, SIGKILL what is left after graceMs. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.shuttingDown = true;
    const alive = [...this.children.values()].filter((m) => this.running(m.name));
    for (const m of alive) m.proc!.kill('SIGTERM');
    await Promise.race([Promise.all(alive.map((m) => m.exited)), sleep(graceMs)]);
    this.killAll();
  }

  /** Hard stop (overall timeout, suite crash). */
  killAll(): void {
    this.shuttingDown = true;
    for (const m of this.children.values()) if (this.running(m.name)) m.proc!.kill('SIGKILL');
  }

  unexpectedExits(): ExitRecord[] {
    return this.exits.filter((e) => !e.expected);
  }

  private now() {
    return Math.round((Date.now() - this.t0) / 10) / 100;
  }
}

/** Polls GET /health until it answers 200; returns the time it took or throws after timeoutMs. */
export async function waitHealthy(port: number, timeoutMs = 60_000, alive?: () => boolean): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return Date.now() - started;
    } catch {
      // not listening yet
    }
    if (alive && !alive()) throw new Error(`the process on port ${port} exited before it was healthy`);
    if (Date.now() - started > timeoutMs) throw new Error(`port ${port} not healthy within ${timeoutMs} ms`);
    await sleep(100);
  }
}
