/**
 * Preloaded into a process under test (`node --require`): a 5 ms interval timer that writes a line to
 * stderr for every event-loop stall over 20 ms, `stall-monitor: <ms> ms cpu <ms> ms at <epoch ms>`: how
 * much later than due the timer ran, and the CPU time the process used meanwhile (all its threads). A
 * stall the process spent running (CPU about the stall or more) is its own; one with little CPU is the
 * machine's (the process was not scheduled). Precise where Node's own `monitorEventLoopDelay` (behind
 * prom-client's `nodejs_eventloop_lag_*`) reports whole intervals of its 100 ms resolution. Plain
 * JavaScript: node loads it before the CLI, without ts-jest.
 */
'use strict';
const EVERY_MS = 5;
let last = performance.now();
let cpu = process.cpuUsage();
setInterval(() => {
  const now = performance.now();
  const used = process.cpuUsage();
  const stall = now - last - EVERY_MS;
  const cpuMs = (used.user - cpu.user + used.system - cpu.system) / 1000;
  last = now;
  cpu = used;
  if (stall > 20) process.stderr.write(`stall-monitor: ${Math.round(stall)} ms cpu ${Math.round(cpuMs)} ms at ${Date.now()}\n`);
}, EVERY_MS).unref();
