import { AzmlApiError } from '../request';
import {
  compute,
  computesAnswer,
  job,
  operation,
  page,
  testModel
} from './helpers';

function apiError(status: number, message: string): AzmlApiError {
  return new AzmlApiError(new Response(null, { status }), {
    error: 'x',
    message
  });
}

describe('AzmlModel: loading', () => {
  it('loads the status table before the first job page', async () => {
    const order: string[] = [];
    const { model, api } = testModel();
    api.fetchStatuses.mockImplementation(async () => {
      order.push('statuses');
      const { StatusTable } = await import('../statuses');
      const { STATUSES } = await import('./helpers');
      return new StatusTable(STATUSES);
    });
    api.listJobs.mockImplementation(async () => {
      order.push('jobs');
      return page([job('a', 'Running')]);
    });
    await model.start();
    expect(order).toEqual(['statuses', 'jobs']);
    expect(model.state.statuses.loaded).toBe(true);
    expect(model.state.workspace.value?.name).toBe('home');
    expect(model.state.jobs.page.map(j => j.name)).toEqual(['a']);
  });

  it("keeps each section's server error message", async () => {
    const { model } = testModel({
      fetchWorkspace: async () => {
        throw apiError(
          503,
          "Azure ML workspace 'ml' is not reachable: token expired"
        );
      },
      listComputes: async () => {
        throw apiError(403, 'The identity may not list computes');
      },
      listJobs: async () => {
        throw apiError(
          500,
          'Unexpected server error; the Jupyter server log has the details.'
        );
      }
    });
    await model.start();
    expect(model.state.workspace.error).toBe(
      "Azure ML workspace 'ml' is not reachable: token expired"
    );
    expect(model.state.computes.error).toBe(
      'The identity may not list computes'
    );
    expect(model.state.jobs.error).toBe(
      'Unexpected server error; the Jupyter server log has the details.'
    );
    expect(model.state.data.error).toBeNull();
  });

  it('clears a job list error when the server answers again', async () => {
    const { model, api } = testModel();
    await model.refreshStatuses();
    api.listJobs.mockRejectedValueOnce(apiError(503, 'backend down'));
    await expect(model.refreshJobs()).rejects.toThrow('backend down');
    expect(model.state.jobs.error).toBe('backend down');
    api.listJobs.mockResolvedValueOnce({ notModified: true, etag: '"e"' });
    await model.refreshJobs();
    expect(model.state.jobs.error).toBeNull();
  });
});

describe('AzmlModel: job pages', () => {
  it('pages with the server cursors, forward and back', async () => {
    const { model, api } = testModel();
    await model.refreshStatuses();
    api.listJobs
      .mockResolvedValueOnce(
        page([job('j3', 'Completed'), job('j2', 'Completed')], 'c2')
      )
      .mockResolvedValueOnce(page([job('j1', 'Completed')], null))
      .mockResolvedValueOnce(
        page([job('j3', 'Completed'), job('j2', 'Completed')], 'c2')
      );
    await model.refreshJobs({ user: true });
    expect(model.state.jobs.nextCursor).toBe('c2');

    await model.nextPage();
    expect(api.listJobs.mock.calls[1][0]).toEqual({
      status: undefined,
      limit: 50,
      cursor: 'c2'
    });
    expect(model.state.jobs.cursors).toEqual([null, 'c2']);
    expect(model.state.jobs.page.map(j => j.name)).toEqual(['j1']);
    expect(model.state.jobs.nextCursor).toBeNull();
    expect(await model.nextPage()).toBe(false); // no further page: no request
    expect(api.listJobs).toHaveBeenCalledTimes(2);

    await model.previousPage();
    expect(api.listJobs.mock.calls[2][0].cursor).toBeNull();
    expect(model.state.jobs.page.map(j => j.name)).toEqual(['j3', 'j2']);
    expect(await model.previousPage()).toBe(false);
  });

  it('a filter or page size starts again at the first page', async () => {
    const { model, api } = testModel();
    await model.refreshStatuses();
    api.listJobs.mockResolvedValue(page([job('j1', 'Running')], 'next'));
    await model.refreshJobs();
    await model.nextPage();
    expect(model.state.jobs.cursors).toEqual([null, 'next']);

    await model.setJobFilter('Failed');
    expect(model.state.jobs.cursors).toEqual([null]);
    expect(api.listJobs.mock.lastCall![0]).toEqual({
      status: ['Failed'],
      limit: 50,
      cursor: null
    });

    await model.setPageSize(500);
    expect(api.listJobs.mock.lastCall![0]).toEqual({
      status: ['Failed'],
      limit: 500,
      cursor: null
    });
  });

  it('"active" asks for every non-terminal status of the server table', async () => {
    const { model, api } = testModel();
    await model.refreshStatuses();
    await model.setJobFilter('active');
    expect(api.listJobs.mock.lastCall![0].status).toEqual([
      'NotStarted',
      'Queued',
      'Running',
      'CancelRequested'
    ]);
  });

  it('sends the ETag back and keeps the page when the server answers 304', async () => {
    const { model, api } = testModel();
    await model.refreshStatuses();
    api.listJobs.mockResolvedValueOnce(
      page([job('j1', 'Running')], null, '"abc"')
    );
    expect(await model.refreshJobs()).toBe(true);
    const before = model.state.jobs;

    api.listJobs.mockResolvedValueOnce({ notModified: true, etag: '"abc"' });
    expect(await model.refreshJobs()).toBe(false);
    expect(api.listJobs.mock.calls[1][1]).toBe('"abc"');
    expect(model.state.jobs).toBe(before); // nothing re-renders

    // Another query: the old ETag means nothing there.
    await model.setJobFilter('Running');
    expect(api.listJobs.mock.calls[2][1]).toBeNull();
    // A user refresh ignores the ETag too (always shows what the server has).
    await model.refreshJobs({ user: true });
    expect(api.listJobs.mock.calls[3][1]).toBeNull();
  });

  it('drops an answer overtaken by a newer request', async () => {
    const { model, api } = testModel();
    await model.refreshStatuses();
    let answerSlow: (value: any) => void = () => undefined;
    api.listJobs
      .mockImplementationOnce(
        () => new Promise(resolve => (answerSlow = resolve))
      )
      .mockResolvedValueOnce(page([job('failed-1', 'Failed')]));
    const slow = model.refreshJobs();
    await model.setJobFilter('Failed');
    answerSlow(page([job('old', 'Running')]));
    expect(await slow).toBe(false);
    expect(model.state.jobs.page.map(j => j.name)).toEqual(['failed-1']);
  });
});

describe('AzmlModel: watching jobs end', () => {
  it('announces a job seen running once it ends, once', async () => {
    const { model, api } = testModel();
    const ended: string[] = [];
    model.jobEnded.connect((_, record) =>
      ended.push(`${record.name}:${record.status}`)
    );
    await model.refreshStatuses();
    api.listJobs
      .mockResolvedValueOnce(page([job('a', 'Running'), job('b', 'Completed')]))
      .mockResolvedValueOnce(
        page([job('a', 'Completed'), job('b', 'Completed')], null, '"e2"')
      )
      .mockResolvedValueOnce(
        page([job('a', 'Completed'), job('b', 'Completed')], null, '"e3"')
      );
    await model.pollTick();
    expect([...model.watchedJobs.keys()]).toEqual(['a']); // b ended before we saw it: no news
    await model.pollTick();
    await model.pollTick();
    expect(ended).toEqual(['a:Completed']);
    expect(model.watchedJobs.size).toBe(0);
  });

  it('follows a watched job that left the listed page by name', async () => {
    const { model, api } = testModel();
    const ended: string[] = [];
    model.jobEnded.connect((_, record) => ended.push(record.name));
    await model.refreshStatuses();
    await model.setJobFilter('active');
    api.listJobs.mockResolvedValueOnce(page([job('a', 'Running')]));
    await model.pollTick();
    // Ended, so the "active" page no longer lists it.
    api.listJobs.mockResolvedValueOnce(page([], null, '"e2"'));
    api.getJob.mockResolvedValueOnce(
      job('a', 'Failed', { error: 'exit code 1' })
    );
    expect(await model.pollTick()).toBe(true);
    expect(api.getJob).toHaveBeenCalledWith('a');
    expect(ended).toEqual(['a']);
  });

  it('watches what was submitted and marks it in the list', async () => {
    const { model } = testModel();
    await model.refreshStatuses();
    model.jobSubmitted(job('fresh', 'Queued'));
    expect(model.watchedJobs.get('fresh')).toBe('Queued');
    expect(model.state.highlight).toBe('fresh');
  });

  it('announces nothing before the status table arrived', async () => {
    const { model, api } = testModel();
    const ended: string[] = [];
    model.jobEnded.connect((_, record) => ended.push(record.name));
    api.listJobs.mockResolvedValueOnce(page([job('a', 'Running')]));
    await model.refreshJobs(); // no table yet: "Running" cannot be classified
    expect(model.watchedJobs.size).toBe(0);
    await model.refreshStatuses();
    api.listJobs.mockResolvedValueOnce(
      page([job('a', 'Completed')], null, '"e2"')
    );
    await model.refreshJobs();
    expect(ended).toEqual([]);
  });

  it('a record fetched for the detail updates the listed row', async () => {
    const { model, api } = testModel();
    await model.refreshStatuses();
    api.listJobs.mockResolvedValueOnce(page([job('a', 'Running')]));
    await model.refreshJobs();
    api.getJob.mockResolvedValueOnce(job('a', 'Completed', { children: [] }));
    await model.fetchJob('a');
    expect(model.state.records.get('a')?.status).toBe('Completed');
    expect(model.state.jobs.page[0].status).toBe('Completed');
    expect(model.state.jobs.page[0].children).toBeNull(); // list rows keep the list's shape
  });
});

describe('AzmlModel: poll mode', () => {
  it('polls fast only when visible with something running', async () => {
    const { model, api } = testModel();
    await model.refreshStatuses();
    expect(model.pollMode()).toBe('off');
    model.setVisible(true);
    expect(model.pollMode()).toBe('idle');
    api.listJobs.mockResolvedValueOnce(page([job('a', 'Running')]));
    await model.refreshJobs();
    expect(model.pollMode()).toBe('active');
    model.setVisible(false);
    expect(model.pollMode()).toBe('background');
    api.listJobs.mockResolvedValueOnce(
      page([job('a', 'Completed')], null, '"e2"')
    );
    await model.refreshJobs();
    expect(model.pollMode()).toBe('off');
  });
});

describe('AzmlModel: operations', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('polls a copy-in until it ends, then refreshes the data list', async () => {
    const { model, api } = testModel();
    const ended: string[] = [];
    model.operationEnded.connect((_, op) => ended.push(op.state));
    api.getOperation
      .mockResolvedValueOnce(operation({ bytes_done: 50, bytes_total: 100 }))
      .mockResolvedValueOnce(
        operation({
          state: 'Succeeded',
          bytes_done: 100,
          bytes_total: 100,
          result: { data_asset: { name: 'trips', version: '2' } }
        })
      );
    await model.copyIn({ path: 'data/trips', name: 'trips' });
    expect(api.startCopyIn).toHaveBeenCalledWith({
      path: 'data/trips',
      name: 'trips'
    });
    expect(model.state.operations[0].state).toBe('Running');

    await jest.advanceTimersByTimeAsync(500);
    expect(model.state.operations[0].bytes_done).toBe(50);
    await jest.advanceTimersByTimeAsync(500);
    expect(model.state.operations[0].state).toBe('Succeeded');
    expect(ended).toEqual(['Succeeded']);
    expect(api.listData).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(5000);
    expect(api.getOperation).toHaveBeenCalledTimes(2); // no polling after the end
    model.dispose();
  });

  it('cancels through the server and stops polling', async () => {
    const { model, api } = testModel();
    await model.copyIn({ path: 'big', name: 'big' });
    await model.cancelOperation('op1');
    expect(api.cancelOperation).toHaveBeenCalledWith('op1');
    expect(model.state.operations[0].state).toBe('Canceled');
    await jest.advanceTimersByTimeAsync(3000);
    expect(api.getOperation).not.toHaveBeenCalled();
    model.dismissOperation('op1');
    expect(model.state.operations).toEqual([]);
    model.dispose();
  });

  it('a cluster update refreshes the computes when it succeeds', async () => {
    const { model, api } = testModel({
      updateCompute: jest.fn(async () =>
        operation({ kind: 'compute_update', state: 'Succeeded' })
      )
    });
    await model.updateCompute('cpu', { max_nodes: 4 });
    expect(api.updateCompute).toHaveBeenCalledWith('cpu', { max_nodes: 4 });
    expect(api.listComputes).toHaveBeenCalledTimes(1);
    model.dispose();
  });
});

describe('AzmlModel: computes follow changes made elsewhere (issue 21, item 4)', () => {
  it('polls the computes on every tick, even when the job list is unchanged', async () => {
    // A cluster resized by the CLI or the sizing widget: no job changed, the panel must still see it.
    const { model, api } = testModel();
    api.listComputes.mockResolvedValueOnce(
      computesAnswer([compute('cpu', { current_nodes: 0 })], '"c1"')
    );
    await model.start();
    api.listJobs.mockResolvedValue({ notModified: true, etag: '"e1"' });
    api.listComputes.mockResolvedValueOnce(
      computesAnswer([compute('cpu', { current_nodes: 1 })], '"c2"')
    );
    const changed = await model.pollTick();
    expect(model.state.computes.value?.[0].current_nodes).toBe(1);
    expect(changed).toBe(true); // a change keeps the loop fast
    model.dispose();
  });

  it('refreshes the computes as soon as its own create or update is accepted', async () => {
    // The PUT answers 202 with a running operation: the new cluster (Creating) shows at once.
    const { model, api } = testModel({
      updateCompute: jest.fn(async () =>
        operation({ kind: 'compute_update', state: 'Running' })
      )
    });
    await model.updateCompute('gpu', { size: 'Standard_NC6', max_nodes: 2 });
    expect(api.listComputes).toHaveBeenCalledTimes(1);
    model.dispose();
  });

  it('polls fast while a cluster is being created or resized', async () => {
    const { model, api } = testModel();
    api.listComputes.mockResolvedValue(
      computesAnswer([compute('gpu', { state: 'Creating' })])
    );
    await model.start();
    model.setVisible(true);
    expect(model.pollMode()).toBe('active');
    model.setVisible(false);
    expect(model.pollMode()).toBe('background');
    api.listComputes.mockResolvedValue(computesAnswer([compute('gpu')]));
    await model.refreshComputes({ user: true });
    expect(model.pollMode()).toBe('off');
    model.dispose();
  });
});
