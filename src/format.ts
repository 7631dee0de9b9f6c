/**
 * Small text formatters shared by the panel's sections (no date library: the
 * bundle stays small, and the browser's Intl does the locale work).
 */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** 1536 -> "1.5 KB" (powers of 1024, one decimal under 10). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !isFinite(bytes)) {
    return '–';
  }
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** Bytes per second -> "3.2 MB/s". */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined) {
    return '–';
  }
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Milliseconds -> "<1s", "45s", "3m 05s", "2h 07m", "3d 4h". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !isFinite(ms) || ms < 0) {
    return '–';
  }
  if (ms < 1000) {
    return '<1s'; // a quick step did run: "0s" read as "did not run"
  }
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) {
    return `${seconds}s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  }
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Parse an ISO timestamp; null for missing or malformed values. */
export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) {
    return null;
  }
  const value = Date.parse(iso);
  return isNaN(value) ? null : value;
}

/**
 * A job's run time: started -> ended, or started -> now while it runs.
 * Null when it never started.
 */
export function jobDuration(
  job: { started_at: string | null; ended_at: string | null },
  now: number
): number | null {
  const started = parseTime(job.started_at);
  if (started === null) {
    return null;
  }
  const ended = parseTime(job.ended_at);
  return (ended ?? now) - started;
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit'
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit'
});
const fullFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit'
});

/** "14:05" today, "Nov 3, 14:05" otherwise; "–" when missing. */
export function formatStart(
  iso: string | null | undefined,
  now: number
): string {
  const value = parseTime(iso);
  if (value === null) {
    return '–';
  }
  const sameDay =
    new Date(value).toDateString() === new Date(now).toDateString();
  return (sameDay ? timeFormat : dateTimeFormat).format(value);
}

/** The full local date and time, for tooltips and the job's properties. */
export function formatFullTime(iso: string | null | undefined): string {
  const value = parseTime(iso);
  return value === null ? '–' : fullFormat.format(value);
}
