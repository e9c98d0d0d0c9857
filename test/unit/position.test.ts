import { comparePositionStrings, comparePositions, formatPosition, parsePosition, positionOf } from '../../shared/position';
import { CheckpointTracker } from '../../worker/checkpoint/checkpoint-tracker';

const A = '49590338271490256608559692538361571095921575989136588898';
const B = '49590338271490256608559692538361571095921575989136588899';
const SHORT = '4959033827149025660855969253836157109592157598913658889';

describe('positions in (sequence number, sub-sequence number)', () => {
  it('parses and formats both forms, and refuses anything else', () => {
    expect(parsePosition(A)).toEqual({ sequenceNumber: A });
    expect(parsePosition(`${A}:17`)).toEqual({ sequenceNumber: A, subSequenceNumber: 17 });
    expect(formatPosition({ sequenceNumber: A, subSequenceNumber: 0 })).toBe(`${A}:0`);
    expect(formatPosition({ sequenceNumber: A })).toBe(A);
    for (const bad of ['', 'SHARD_END', `${A}:`, `${A}:x`, `:3`, `${A}:1:2`, '12a']) expect(() => parsePosition(bad)).toThrow(/not a position/);
  });

  it('the last user record of an aggregate closes the whole record', () => {
    expect(positionOf({ sequenceNumber: A })).toBe(A);
    expect(positionOf({ sequenceNumber: A, subSequenceNumber: 0, aggregateSize: 3 })).toBe(`${A}:0`);
    expect(positionOf({ sequenceNumber: A, subSequenceNumber: 1, aggregateSize: 3 })).toBe(`${A}:1`);
    expect(positionOf({ sequenceNumber: A, subSequenceNumber: 2, aggregateSize: 3 })).toBe(A);
  });

  const ordered = [SHORT, `${A}:0`, `${A}:1`, `${A}:2`, `${A}:10`, A, `${B}:0`, `${B}:9`, B];

  it('orders by sequence number, then sub-sequence number, a whole record after all its sub-sequence numbers', () => {
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        const expected = Math.sign(i - j);
        expect([ordered[i], ordered[j], comparePositionStrings(ordered[i], ordered[j])]).toEqual([ordered[i], ordered[j], expected]);
        expect(comparePositions(parsePosition(ordered[i]), parsePosition(ordered[j]))).toBe(expected);
      }
    }
    // Numbers, not text: 10 after 2.
    expect(comparePositionStrings(`${A}:10`, `${A}:2`)).toBe(1);
    const shuffled = [...ordered].reverse();
    expect(shuffled.sort(comparePositionStrings)).toEqual(ordered);
  });
});

describe('CheckpointTracker with positions inside aggregates', () => {
  it('moves through the middle of an aggregate only as far as the acknowledged prefix, whatever order the acks come in', () => {
    const tracker = new CheckpointTracker();
    // One aggregate of 1,500 user records handed to the sink in chunks of 500, then a plain record.
    const t1 = tracker.add(`${A}:499`);
    const t2 = tracker.add(`${A}:999`);
    const t3 = tracker.add(A);
    const t4 = tracker.add(B);
    expect(tracker.complete(t3)).toBeUndefined();
    expect(tracker.complete(t2)).toBeUndefined();
    expect(tracker.complete(t1)).toBe(A); // the whole aggregate is done at once
    expect(tracker.complete(t4)).toBe(B);

    const again = new CheckpointTracker();
    const u1 = again.add(`${B}:499`);
    const u2 = again.add(`${B}:999`);
    again.add(B);
    expect(again.complete(u1)).toBe(`${B}:499`);
    expect(again.complete(u2)).toBe(`${B}:999`);
    expect(again.outstanding).toBe(1);
  });
});
