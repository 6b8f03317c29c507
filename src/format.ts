// How the CLI and the reports write durations: µs as measured, ms once that reads better.

/** "850 µs", "12.3 ms"; `compact` drops the space for table columns ("850µs"). */
export const formatUs = (us: number, { compact = false } = {}): string => {
  const sep = compact ? "" : " ";
  return Math.abs(us) >= 10_000 ? `${(us / 1000).toFixed(1)}${sep}ms` : `${us}${sep}µs`;
};
