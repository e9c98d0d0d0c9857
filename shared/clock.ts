/**
 * Time, the one way it reaches shardflow's logic: a `Clock` is a function that returns milliseconds, handed
 * in as a `clock` dependency (tests pass a fake one that they move). Deadlines, pauses and durations read a
 * monotonic clock, which NTP steps and skewed host clocks cannot move; only what is shown or stored as a
 * date (log fields such as `since`, a status's `updatedAt`) reads the wall clock.
 */
export type Clock = () => number;

/** Monotonic milliseconds (from an arbitrary origin): for deadlines, pauses and durations. */
export const monotonicClock: Clock = () => performance.now();

/** Milliseconds since the epoch: for dates that are shown or stored. */
export const wallClock: Clock = () => Date.now();
