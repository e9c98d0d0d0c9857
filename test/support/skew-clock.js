/**
 * Preloaded (`node --require`) into a process whose host clock a test skews when libfaketime is not
 * installed: `Date.now()` and `new Date()` run SHARDFLOW_TEST_CLOCK_OFFSET_MS off the real clock.
 * Plain JavaScript, since the CLI under test runs the built code, not ts-jest.
 */
'use strict';
const offset = Number(process.env.SHARDFLOW_TEST_CLOCK_OFFSET_MS ?? 0);
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(realNow() + offset);
    else super(...args);
  }
  static now() {
    return realNow() + offset;
  }
}
globalThis.Date = SkewedDate;
