import { CheckpointTracker } from '../../worker/checkpoint/checkpoint-tracker';
import { compareSequenceNumbers } from '../../shared/position';

describe('CheckpointTracker', () => {
  it('starts with nothing outstanding', () => {
    expect(new CheckpointTracker().outstanding).toBe(0);
  });

  it('hands out increasing tickets', () => {
    const tracker = new CheckpointTracker();
    expect([tracker.add('1'), tracker.add('2'), tracker.add('3')]).toEqual([0, 1, 2]);
    expect(tracker.outstanding).toBe(3);
  });

  it('moves to each batch in turn when they complete in order', () => {
    const tracker = new CheckpointTracker();
    const a = tracker.add('100');
    const b = tracker.add('200');
    expect(tracker.complete(a)).toBe('100');
    expect(tracker.outstanding).toBe(1);
    expect(tracker.complete(b)).toBe('200');
    expect(tracker.outstanding).toBe(0);
  });

  it('does not move past a batch that is still outstanding', () => {
    const tracker = new CheckpointTracker();
    const a = tracker.add('100');
    const b = tracker.add('200');
    const c = tracker.add('300');
    expect(tracker.complete(c)).toBeUndefined();
    expect(tracker.complete(b)).toBeUndefined();
    expect(tracker.outstanding).toBe(3);
    // The oldest completes: the whole acknowledged prefix is released at once.
    expect(tracker.complete(a)).toBe('300');
    expect(tracker.outstanding).toBe(0);
  });

  it('moves only to the end of the acknowledged prefix', () => {
    const tracker = new CheckpointTracker();
    const tickets = ['10', '20', '30', '40', '50'].map((s) => tracker.add(s));
    expect(tracker.complete(tickets[1])).toBeUndefined(); // 20 done, 10 open
    expect(tracker.complete(tickets[3])).toBeUndefined(); // 40 done
    expect(tracker.complete(tickets[0])).toBe('20'); // 10, 20 done; 30 open
    expect(tracker.outstanding).toBe(3);
    expect(tracker.complete(tickets[4])).toBeUndefined(); // 30 still open
    expect(tracker.complete(tickets[2])).toBe('50');
    expect(tracker.outstanding).toBe(0);
  });

  it('keeps working for batches added after some completed', () => {
    const tracker = new CheckpointTracker();
    const a = tracker.add('1');
    expect(tracker.complete(a)).toBe('1');
    const b = tracker.add('2');
    const c = tracker.add('3');
    expect(tracker.complete(c)).toBeUndefined();
    const d = tracker.add('4');
    expect(tracker.complete(b)).toBe('3');
    expect(tracker.complete(d)).toBe('4');
    expect([a, b, c, d]).toEqual([0, 1, 2, 3]);
  });

  it('returns undefined for an unknown or already released ticket, without moving', () => {
    const tracker = new CheckpointTracker();
    const a = tracker.add('1');
    const b = tracker.add('2');
    expect(tracker.complete(99)).toBeUndefined();
    expect(tracker.complete(a)).toBe('1');
    expect(tracker.complete(a)).toBeUndefined();
    expect(tracker.outstanding).toBe(1);
    expect(tracker.complete(b)).toBe('2');
  });

  it('completing an out-of-order ticket twice does not release the prefix early', () => {
    const tracker = new CheckpointTracker();
    const a = tracker.add('1');
    const b = tracker.add('2');
    expect(tracker.complete(b)).toBeUndefined();
    expect(tracker.complete(b)).toBeUndefined();
    expect(tracker.outstanding).toBe(2);
    expect(tracker.complete(a)).toBe('2');
  });

  it('handles many batches completed in reverse order', () => {
    const tracker = new CheckpointTracker();
    const seqs = Array.from({ length: 100 }, (_, i) => `4959${String(i).padStart(52, '0')}`);
    const tickets = seqs.map((s) => tracker.add(s));
    for (let i = tickets.length - 1; i > 0; i--) expect(tracker.complete(tickets[i])).toBeUndefined();
    expect(tracker.complete(tickets[0])).toBe(seqs[99]);
    expect(tracker.outstanding).toBe(0);
  });
});

describe('compareSequenceNumbers', () => {
  it('returns 0 for equal numbers', () => {
    expect(compareSequenceNumbers('0', '0')).toBe(0);
    const long = '49590338271490256608559692538361571095921575989136588898';
    expect(compareSequenceNumbers(long, long)).toBe(0);
  });

  it('orders a shorter number before a longer one, whatever the digits', () => {
    expect(compareSequenceNumbers('9', '10')).toBe(-1);
    expect(compareSequenceNumbers('10', '9')).toBe(1);
    expect(compareSequenceNumbers('99999', '100000')).toBe(-1);
    // Text comparison alone would get these wrong.
    expect('9' < '10').toBe(false);
  });

  it('orders numbers of the same length by their digits', () => {
    expect(compareSequenceNumbers('123', '124')).toBe(-1);
    expect(compareSequenceNumbers('124', '123')).toBe(1);
    expect(compareSequenceNumbers('200', '199')).toBe(1);
  });

  it('compares 56-digit Kinesis sequence numbers exactly (beyond double precision)', () => {
    const a = '49590338271490256608559692538361571095921575989136588898';
    const b = '49590338271490256608559692538361571095921575989136588899';
    const c = '49590338271490256608559692540925702759324208523137515618';
    expect(a).toHaveLength(56);
    expect(Number(a)).toBe(Number(b)); // a double cannot tell them apart
    expect(compareSequenceNumbers(a, b)).toBe(-1);
    expect(compareSequenceNumbers(b, a)).toBe(1);
    expect(compareSequenceNumbers(a, c)).toBe(-1);
    expect(compareSequenceNumbers(c, b)).toBe(1);
  });

  it('agrees with BigInt ordering, as a sort comparator', () => {
    const numbers = [
      '49590338271490256608559692540925702759324208523137515618',
      '7',
      '49590338271490256608559692538361571095921575989136588898',
      '100',
      '49590338271490256608559692538361571095921575989136588899',
      '99',
      '1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000', // 127 digits
    ];
    const sorted = [...numbers].sort(compareSequenceNumbers);
    const byBigInt = [...numbers].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0));
    expect(sorted).toEqual(byBigInt);
    expect(sorted[0]).toBe('7');
    expect(sorted[sorted.length - 1]).toHaveLength(127);
  });
});
