/**
 * CPU time and resident memory of a running process, read from Linux's /proc (the bench machines are
 * Linux), sampled on an interval so a peak is not missed. CPU seconds are user + system time.
 *
 * RSS counts every page a process maps, its share of the Node binary's file pages included (about 44 MiB
 * of a shardflow coordinator's 72 MiB), so a sum of RSS over two Node processes counts those shared pages
 * twice. PSS (proportional set size, `/proc/<pid>/smaps_rollup`) splits each shared page between the
 * processes that map it, so a sum of PSS counts it once: what a group of processes costs the machine.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux, fixed by the kernel ABI

export interface ProcessSample {
  cpuSeconds: number;
  rssBytes: number;
  /** Only when asked for: reading it walks the process's page tables. */
  pssBytes?: number;
}

/** One reading, or undefined when the process has gone. */
export function readProcess(pid: number, withPss = false): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces, start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0);
    if (!withPss) return { cpuSeconds, rssBytes: rssKb * 1024 };
    const pssKb = Number(/^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    return { cpuSeconds, rssBytes: rssKb * 1024, pssBytes: pssKb * 1024 };
  } catch {
    return undefined;
  }
}

/**
 * Samples one process, or a group of processes taken together (a shardflow coordinator and its worker),
 * until stopped: the latest CPU time (summed over the group), the peak RSS (the peak of the group's summed
 * readings taken at the same instant) and every RSS reading; with `pss`, the peak of the group's summed
 * PSS as well. A process that has gone keeps its last CPU time in the sum and no longer adds to the RSS.
 */
export class ProcessMonitor {
  private timer: NodeJS.Timeout;
  cpuSeconds = 0;
  peakRssBytes = 0;
  /** 0 unless constructed with `pss`. */
  peakPssBytes = 0;
  readonly rss: Array<{ atMs: number; bytes: number }> = [];
  readonly pids: readonly number[];
  private readonly lastCpu = new Map<number, number>();
  private readonly started = Date.now();

  constructor(
    pids: number | readonly number[],
    everyMs = 250,
    private readonly pss = false,
  ) {
    this.pids = typeof pids === 'number' ? [pids] : [...new Set(pids)];
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    let rssBytes = 0;
    let pssBytes = 0;
    let seen = false;
    for (const pid of this.pids) {
      const s = readProcess(pid, this.pss);
      if (!s) continue;
      seen = true;
      this.lastCpu.set(pid, s.cpuSeconds);
      rssBytes += s.rssBytes;
      pssBytes += s.pssBytes ?? 0;
    }
    if (!seen) return;
    this.cpuSeconds = [...this.lastCpu.values()].reduce((a, b) => a + b, 0);
    this.peakRssBytes = Math.max(this.peakRssBytes, rssBytes);
    this.peakPssBytes = Math.max(this.peakPssBytes, pssBytes);
    this.rss.push({ atMs: Date.now() - this.started, bytes: rssBytes });
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}
