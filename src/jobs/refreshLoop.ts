/**
 * When the job list is fetched again (decision, docs/front-end.md):
 *
 * - `active`: the panel is visible and some job it knows of has not ended
 *   (or a cluster is being created or resized):
 *   every 3 s; after 3 answers in a row with nothing new (`304 Not Modified`)
 *   the wait doubles each time, up to 30 s;
 * - `idle`: the panel is visible, every job ended: every 10 s (jobs submitted
 *   elsewhere — the CLI, `%%azml_submit` — and clusters changed elsewhere —
 *   the CLI, the sizing widget — appear within seconds; each fetch is a 304
 *   while nothing changed);
 * - `background`: the panel is hidden but a job seen running has not ended
 *   (its end is notified): every 10 s, backing off the same way up to 60 s;
 * - `off`: hidden and nothing to watch: no request at all.
 *
 * Each fetch is a conditional GET (`If-None-Match`), so an unchanged list
 * costs a 304 with no body. A submit, a cancel or showing the panel refreshes
 * at once and restarts the back-off (`poke`).
 */
export type PollMode = 'active' | 'idle' | 'background' | 'off';

export interface IPollIntervals {
  active: number;
  activeMax: number;
  idle: number;
  background: number;
  backgroundMax: number;
}

/** Fetches with nothing new before the wait starts to grow. */
export const BACKOFF_AFTER = 3;

export const DEFAULT_INTERVALS: IPollIntervals = {
  active: 3000,
  activeMax: 30000,
  idle: 10000,
  background: 10000,
  backgroundMax: 60000
};

/**
 * The wait before the next fetch, or null for none. `unchanged` counts the
 * fetches in a row that brought nothing new (or failed).
 */
export function nextDelay(
  mode: PollMode,
  unchanged: number,
  intervals: IPollIntervals = DEFAULT_INTERVALS
): number | null {
  const backoff = 2 ** Math.min(Math.max(0, unchanged - BACKOFF_AFTER + 1), 10);
  switch (mode) {
    case 'active':
      return Math.min(intervals.active * backoff, intervals.activeMax);
    case 'background':
      return Math.min(intervals.background * backoff, intervals.backgroundMax);
    case 'idle':
      return intervals.idle;
    default:
      return null;
  }
}

export interface IRefreshLoopOptions {
  /** Fetch; resolve true when something changed. A rejection counts as unchanged. */
  tick: () => Promise<boolean>;
  /** Read at every scheduling decision. */
  mode: () => PollMode;
  intervals?: IPollIntervals;
}

/** A self-rescheduling timer around `tick` (one fetch in flight at most). */
export class RefreshLoop {
  constructor(options: IRefreshLoopOptions) {
    this._tick = options.tick;
    this._mode = options.mode;
    this._intervals = options.intervals ?? DEFAULT_INTERVALS;
  }

  /** Milliseconds until the next fetch, or null when none is planned (tests, debugging). */
  get plannedDelay(): number | null {
    return this._plannedDelay;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Plan the next fetch from the current mode (after a visibility change). */
  reschedule(): void {
    if (this._disposed) {
      return;
    }
    this._clearTimer();
    if (this._running) {
      return; // run() schedules when it finishes
    }
    const delay = nextDelay(this._mode(), this._unchanged, this._intervals);
    this._plannedDelay = delay;
    if (delay !== null) {
      this._timer = setTimeout(() => void this._run(), delay);
    }
  }

  /** Fetch now and restart the back-off. */
  async poke(): Promise<void> {
    if (this._disposed) {
      return;
    }
    this._unchanged = 0;
    if (this._running) {
      this._again = true;
      return;
    }
    this._clearTimer();
    await this._run();
  }

  dispose(): void {
    this._disposed = true;
    this._clearTimer();
  }

  private async _run(): Promise<void> {
    this._timer = null;
    this._plannedDelay = null;
    this._running = true;
    try {
      const changed = await this._tick();
      this._unchanged = changed ? 0 : this._unchanged + 1;
    } catch {
      this._unchanged += 1;
    } finally {
      this._running = false;
    }
    if (this._again) {
      this._again = false;
      this._unchanged = 0;
      return this._run();
    }
    this.reschedule();
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    this._plannedDelay = null;
  }

  private _tick: () => Promise<boolean>;
  private _mode: () => PollMode;
  private _intervals: IPollIntervals;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _plannedDelay: number | null = null;
  private _unchanged = 0;
  private _running = false;
  private _again = false;
  private _disposed = false;
}
