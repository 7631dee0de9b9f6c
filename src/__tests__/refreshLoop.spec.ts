import {
  DEFAULT_INTERVALS,
  nextDelay,
  PollMode,
  RefreshLoop
} from '../jobs/refreshLoop';

describe('nextDelay', () => {
  it('keeps 3 s for three unchanged answers, then doubles up to 30 s', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7].map(n => nextDelay('active', n));
    expect(delays).toEqual([
      3000, 3000, 3000, 6000, 12000, 24000, 30000, 30000
    ]);
  });

  it('is slow when hidden, fixed when idle, and none when off', () => {
    expect(nextDelay('background', 0)).toBe(DEFAULT_INTERVALS.background);
    expect(nextDelay('background', 20)).toBe(DEFAULT_INTERVALS.backgroundMax);
    expect(nextDelay('idle', 0)).toBe(10000);
    expect(nextDelay('idle', 9)).toBe(10000);
    expect(nextDelay('off', 0)).toBeNull();
  });
});

describe('RefreshLoop', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('ticks on its schedule, backs off on no change, and a poke restarts it', async () => {
    let mode: PollMode = 'active';
    const tick = jest.fn(async () => false);
    const loop = new RefreshLoop({ tick, mode: () => mode });
    loop.reschedule();
    await jest.advanceTimersByTimeAsync(9000); // 3 + 3 + 3
    expect(tick).toHaveBeenCalledTimes(3);
    expect(loop.plannedDelay).toBe(6000);
    await jest.advanceTimersByTimeAsync(6000);
    expect(tick).toHaveBeenCalledTimes(4);
    expect(loop.plannedDelay).toBe(12000);

    await loop.poke();
    expect(tick).toHaveBeenCalledTimes(5);
    expect(loop.plannedDelay).toBe(3000);

    mode = 'off';
    loop.reschedule();
    expect(loop.plannedDelay).toBeNull();
    await jest.advanceTimersByTimeAsync(120000);
    expect(tick).toHaveBeenCalledTimes(5);
    loop.dispose();
  });

  it('a change resets the back-off; a failure counts as no change', async () => {
    const answers = [false, false, false, true];
    const tick = jest.fn(async () => {
      const next = answers.shift();
      if (next === undefined) {
        throw new Error('network down');
      }
      return next;
    });
    const loop = new RefreshLoop({ tick, mode: () => 'active' });
    loop.reschedule();
    await jest.advanceTimersByTimeAsync(9000);
    expect(loop.plannedDelay).toBe(6000);
    await jest.advanceTimersByTimeAsync(6000); // the change
    expect(loop.plannedDelay).toBe(3000);
    await jest.advanceTimersByTimeAsync(3000 * 3); // three failures
    expect(loop.plannedDelay).toBe(6000);
    loop.dispose();
  });

  it('never runs two fetches at once; a poke during one runs once more after it', async () => {
    let finish: (changed: boolean) => void = () => undefined;
    const tick = jest.fn(
      () => new Promise<boolean>(resolve => (finish = resolve))
    );
    const loop = new RefreshLoop({ tick, mode: () => 'active' });
    const first = loop.poke();
    void loop.poke();
    void loop.poke();
    expect(tick).toHaveBeenCalledTimes(1);
    finish(true);
    await Promise.resolve();
    await Promise.resolve();
    expect(tick).toHaveBeenCalledTimes(2);
    finish(false);
    await first;
    expect(tick).toHaveBeenCalledTimes(2);
    loop.dispose();
  });
});
