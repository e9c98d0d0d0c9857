/**
 * How a shard's runner lets go of its lease: waits for its acknowledgements (`drain`), then writes the
 * final checkpoint, retried with backoff while the lease is held and the hand-over time lasts, since one
 * lost write there means the next owner re-sends everything acknowledged since the previous one.
 *
 * A stopping lease (fair share, shutdown) waits for the output at most half of `handOverMs`, whatever
 * the output does (slow, throttled, refusing writes), so the hand-over ends well inside the lease
 * timeout and a Kubernetes grace period; a hurried one (a second SIGTERM) not at all. Records not
 * acknowledged then leave the sink's buffer and stay behind the checkpoint for the next owner. At the
 * shard's end (not stopping) the lease is held and renewed, and the output is waited for.
 */
import { backoffDelay, sleep } from '../shared/backoff';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logging';
import type { AcknowledgedCheckpoints } from './checkpoint/acknowledged-checkpoints';
import type { Lease } from './leases/lease';
import type { SinkPort } from './sink/sink-port';

export interface HandOverDeps {
  lease: Lease;
  checkpoints: AcknowledgedCheckpoints;
  sink: Pick<SinkPort, 'abandon'>;
  log: Logger;
  /** Half of it for the acknowledgements while stopping, half for the final checkpoint. */
  handOverMs: number;
  clock: Clock;
}

export class HandOver {
  /** Since when (clock time) a stopping lease waits for its acknowledgements. */
  private drainingSince: number | undefined;

  constructor(private readonly deps: HandOverDeps) {}

  /** Waits for the acknowledgements as the header says; true when every one came. */
  async drain(): Promise<boolean> {
    const { lease, checkpoints, clock } = this.deps;
    const grace = this.deps.handOverMs / 2;
    while (checkpoints.awaited > 0 && !lease.isLost) {
      let wait = 500;
      if (lease.isStopping) {
        if (lease.isHurried) break;
        this.drainingSince ??= clock();
        wait = Math.min(wait, this.drainingSince + grace - clock());
        if (wait <= 0) break;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([checkpoints.all(), new Promise((r) => (timer = setTimeout(r, wait))), lease.hurried]);
      clearTimeout(timer);
    }
    await checkpoints.settled();
    return checkpoints.awaited === 0;
  }

  /** The graceful end of a lease: the acknowledgements, then the final checkpoint. */
  async run(): Promise<void> {
    const { lease, checkpoints, clock, log } = this.deps;
    const started = clock();
    if (!(await this.drain()) && !lease.isLost) {
      // Unsent records leave the buffer now; the ones in flight may still land (at-least-once).
      this.deps.sink.abandon(lease);
      log.warn(
        { waitedMs: Math.round(clock() - started), writesOut: checkpoints.awaited, checkpoint: checkpoints.latest },
        'handing the lease over with records not yet acknowledged by the output: the checkpoint stays behind them and the next owner writes them',
      );
    }
    const deadline = clock() + this.deps.handOverMs / 2;
    for (let attempt = 0; ; attempt++) {
      if ((await checkpoints.writeLatest()) !== 'failed') return;
      // Time left, not the jittered pause: full jitter may draw a pause of 0, which is no reason to give up.
      const left = Math.min(deadline - clock(), lease.remainingMs);
      if (left <= 0 || lease.isLost) {
        log.error({ checkpoint: checkpoints.latest, attempts: attempt + 1 }, 'final checkpoint not written before the hand-over time ran out: the next owner re-reads from the last one written');
        return;
      }
      await sleep(Math.min(backoffDelay(attempt, { baseMs: 100, maxMs: 1000 }), left));
    }
  }
}
