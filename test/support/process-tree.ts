/** The processes a test's CLI started, so a failed test can leave none of them behind. */
import { execFileSync } from 'node:child_process';
import { stopCli, type CliProcess } from './cli';

/** Every descendant of `pid` (children, grandchildren, ...), read from `ps`. */
export function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=']).toString();
  const rows = out.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const found = new Set<number>([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, ppid] of rows) {
      if (found.has(ppid) && !found.has(p)) {
        found.add(p);
        grew = true;
      }
    }
  }
  found.delete(pid);
  return [...found];
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the process gracefully, then kills whatever it started that is still running. */
export async function stopWithDescendants(p: CliProcess, graceMs = 30_000): Promise<void> {
  const family = descendants(p.child.pid!);
  await stopCli(p, graceMs);
  for (const pid of family) if (alive(pid)) process.kill(pid, 'SIGKILL');
}
