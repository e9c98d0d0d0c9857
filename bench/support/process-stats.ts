/**
 * CPU time and resident memory of a running process, read from Linux's /proc (the bench machines are
 * Linux), sampled on an interval so a peak is not missed. CPU seconds are user + system time.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux, fixed by the kernel ABI

export interface ProcessSample {
  cpuSeconds: number;
  rssBytes: number;
}

/** One reading, or undefined when the process has gone. */
export function readProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces, start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0);
    return { cpuSeconds, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

/** Samples a process until stopped: the latest CPU time, the peak RSS and every RSS reading. */
export class ProcessMonitor {
  private timer: NodeJS.Timeout;
  cpuSeconds = 0;
  peakRssBytes = 0;
  readonly rss: Array<{ atMs: number; bytes: number }> = [];
  private readonly started = Date.now();

  constructor(
    readonly pid: number,
    everyMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    const s = readProcess(this.pid);
    if (!s) return;
    this.cpuSeconds = s.cpuSeconds;
    this.peakRssBytes = Math.max(this.peakRssBytes, s.rssBytes);
    this.rss.push({ atMs: Date.now() - this.started, bytes: s.rssBytes });
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}
