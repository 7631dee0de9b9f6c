import { Notification } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import React from 'react';

import { DataSection } from '../data/DataSection';
import { formatDuration } from '../format';
import { JobRow } from '../jobs/JobList';
import { connectNotifications } from '../notifications';
import { OperationRow } from '../OperationRow';
import { StatusTable } from '../statuses';
import {
  job,
  operation,
  page,
  render,
  settle,
  STATUSES,
  testModel,
  trans
} from './helpers';

/** Issue 21, item 12: what the panel says in the first hour. */

describe('durations', () => {
  it('says "<1s" for a step shorter than a second, not "0s"', () => {
    expect(formatDuration(0)).toBe('<1s');
    expect(formatDuration(420)).toBe('<1s');
    expect(formatDuration(1000)).toBe('1s');
    const quick = job('quick', 'Completed', {
      started_at: '2026-11-26T09:00:00.000Z',
      ended_at: '2026-11-26T09:00:00.300Z'
    });
    const { container, unmount } = render(
      <JobRow
        job={quick}
        statuses={new StatusTable(STATUSES)}
        now={0}
        onOpen={() => undefined}
      />
    );
    expect(container.querySelector('.azml-JobRow-duration')!.textContent).toBe(
      '<1s'
    );
    unmount();
  });
});

describe('copy-in wording', () => {
  it('counts "1 file", says why bytes were not copied, and keeps the whole description', () => {
    const { model } = testModel();
    const description =
      'Copy data/trips-2024-with-a-long-name into data asset trips-2024-with-a-long-name';
    const { container, unmount } = render(
      <OperationRow
        operation={operation({
          state: 'Succeeded',
          description,
          bytes_done: 18 * 1024,
          bytes_total: 18 * 1024,
          bytes_skipped: 18 * 1024,
          files_done: 1,
          files_total: 1,
          files_skipped: 1,
          result: { data_asset: { name: 'trips', version: '1' }, created: true }
        })}
        model={model}
        trans={trans}
      />
    );
    expect(
      container.querySelector('.azml-Operation-progress')!.textContent
    ).toBe(
      '18 KB of 18 KB · 1 of 1 file · 18 KB already in the workspace (identical content), not copied again'
    );
    const shown = container.querySelector('.azml-Operation-description')!;
    expect(shown.textContent).toBe(description);
    expect(shown.getAttribute('title')).toBe(description);
    unmount();
  });

  it('a folder of one file says "1 file"', async () => {
    const { model } = testModel({
      listData: async () => [
        {
          name: 'one',
          version: '1',
          type: 'uri_folder',
          path: 'azureml://x/1',
          size_bytes: 2048,
          file_count: 1,
          created_at: null,
          description: null,
          tags: {}
        }
      ]
    });
    await model.refreshData();
    const { container, unmount } = render(
      <DataSection model={model} trans={trans} onCopyIn={() => undefined} />
    );
    expect(container.querySelector('.azml-Asset-size')!.textContent).toBe(
      '2.0 KB · 1 file'
    );
    unmount();
  });
});

describe('the end of a failed job', () => {
  afterEach(() => jest.restoreAllMocks());

  async function endJob(
    status: string,
    isJobShown?: (name: string) => boolean
  ): Promise<Notification.IOptions<any>> {
    const emit = jest.spyOn(Notification, 'emit').mockReturnValue('n1');
    emit.mockClear();
    const { model, api } = testModel();
    connectNotifications(model, new CommandRegistry(), trans, { isJobShown });
    await model.refreshStatuses();
    api.listJobs
      .mockResolvedValueOnce(page([job('train', 'Running')]))
      .mockResolvedValueOnce(
        page([job('train', status, { error: 'exit code 3' })], null, '"e2"')
      );
    await model.pollTick();
    await model.pollTick();
    await settle();
    expect(emit).toHaveBeenCalledTimes(1);
    model.dispose();
    return emit.mock.calls[0][2] as Notification.IOptions<any>;
  }

  it('closes by itself (not sticky over the log), later than a success', async () => {
    const failed = await endJob('Failed');
    const completed = await endJob('Completed');
    expect(typeof failed.autoClose).toBe('number');
    expect(failed.autoClose as number).toBeGreaterThan(
      completed.autoClose as number
    );
  });

  it('goes to the notification list only when its log is on screen', async () => {
    const shown = await endJob('Failed', name => name === 'train');
    expect(shown.autoClose).toBe(0);
  });
});
