import React from 'react';

import { ComputesSection } from '../computes/ComputesSection';
import { DataSection, groupAssets } from '../data/DataSection';
import { JobList } from '../jobs/JobList';
import { StatusBadge } from '../jobs/StatusBadge';
import { OperationRow } from '../OperationRow';
import { AzmlApiError } from '../request';
import { StatusTable } from '../statuses';
import { WorkspaceHeader } from '../workspace/WorkspaceHeader';
import {
  act,
  compute,
  computesAnswer,
  job,
  operation,
  page,
  render,
  settle,
  STATUSES,
  testModel,
  trans
} from './helpers';

const table = new StatusTable(STATUSES);

describe('StatusBadge', () => {
  it("shows the status in the server's colour and category", () => {
    const { container, unmount } = render(
      <StatusBadge status="Running" statuses={table} />
    );
    const badge = container.querySelector('.azml-StatusBadge') as HTMLElement;
    expect(badge.textContent).toBe('Running');
    expect(badge.dataset.category).toBe('running');
    expect(badge.style.getPropertyValue('--azml-status-color')).toBe(
      'var(--jp-brand-color1)'
    );
    unmount();
  });

  it('keeps Queued and Running apart', () => {
    const { container, unmount } = render(
      <>
        <StatusBadge status="Queued" statuses={table} />
        <StatusBadge status="Running" statuses={table} />
      </>
    );
    const [queued, running] = Array.from(
      container.querySelectorAll<HTMLElement>('.azml-StatusBadge')
    );
    expect(queued.dataset.category).not.toBe(running.dataset.category);
    expect(queued.style.getPropertyValue('--azml-status-color')).not.toBe(
      running.style.getPropertyValue('--azml-status-color')
    );
    unmount();
  });

  it('shows a status the server did not list as it is, neutral', () => {
    const { container, unmount } = render(
      <StatusBadge status="Migrating" statuses={table} />
    );
    const badge = container.querySelector('.azml-StatusBadge') as HTMLElement;
    expect(badge.textContent).toBe('Migrating');
    expect(badge.dataset.category).toBe('unknown');
    unmount();
  });
});

describe('StatusTable', () => {
  it('answers from the server table, case-insensitively', () => {
    expect(table.get('completed').name).toBe('Completed');
    expect(table.isTerminal('Canceled')).toBe(true);
    expect(table.isTerminal('CancelRequested')).toBe(false);
    expect(table.activeNames()).toEqual([
      'NotStarted',
      'Queued',
      'Running',
      'CancelRequested'
    ]);
    expect(table.names()).toEqual(STATUSES.map(s => s.name));
    expect(new StatusTable().loaded).toBe(false);
  });
});

describe('JobList', () => {
  it('renders a row per job with badge, name, compute, start and duration', async () => {
    const { model, api } = testModel();
    api.listJobs.mockResolvedValue(
      page([
        job('job-b', 'Running', {
          display_name: 'train',
          started_at: new Date(Date.now() - 65000).toISOString()
        }),
        job('job-a', 'Completed', {
          compute: 'cpu-cluster',
          started_at: '2026-11-26T09:00:00.000Z',
          ended_at: '2026-11-26T09:02:05.000Z'
        })
      ])
    );
    await model.start();
    const onOpen = jest.fn();
    const { container, unmount } = render(
      <JobList model={model} trans={trans} onOpen={onOpen} />
    );
    const rows = Array.from(
      container.querySelectorAll<HTMLElement>('.azml-JobRow')
    );
    expect(rows.map(r => r.dataset.jobName)).toEqual(['job-b', 'job-a']);
    expect(rows[0].querySelector('.azml-JobRow-name')!.textContent).toBe(
      'train'
    );
    expect(rows[1].querySelector('.azml-JobRow-name')!.textContent).toBe(
      'job-a'
    ); // no display name
    expect(rows[1].querySelector('.azml-JobRow-compute')!.textContent).toBe(
      'cpu-cluster'
    );
    expect(rows[1].querySelector('.azml-JobRow-duration')!.textContent).toBe(
      '2m 05s'
    );
    expect(rows[0].querySelector('.azml-JobRow-duration')!.textContent).toMatch(
      /^1m 0\ds$/
    );
    expect(rows[0].querySelector('.azml-StatusBadge')!.textContent).toBe(
      'Running'
    );

    act(() => rows[1].click());
    expect(onOpen).toHaveBeenCalledWith('job-a');
    unmount();
    model.dispose();
  });

  it("offers the server's statuses as filters and applies one", async () => {
    const { model, api } = testModel();
    await model.start();
    const { container, unmount } = render(
      <JobList model={model} trans={trans} onOpen={jest.fn()} />
    );
    const select = container.querySelector<HTMLSelectElement>(
      '.azml-JobList-filter'
    )!;
    const options = Array.from(select.options).map(o => o.value);
    expect(options).toEqual(['all', 'active', ...STATUSES.map(s => s.name)]);
    await act(async () => {
      select.value = 'Failed';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(api.listJobs.mock.lastCall![0].status).toEqual(['Failed']);
    unmount();
    model.dispose();
  });

  it('pages: Older is enabled by a next cursor, Newer after moving on', async () => {
    const { model, api } = testModel();
    api.listJobs
      .mockResolvedValueOnce(page([job('j2', 'Completed')], 'cursor-2'))
      .mockResolvedValueOnce(page([job('j1', 'Completed')], null));
    await model.start();
    const { container, unmount } = render(
      <JobList model={model} trans={trans} onOpen={jest.fn()} />
    );
    const older = () =>
      container.querySelector<HTMLButtonElement>('.azml-Pager-next')!;
    const newer = () =>
      container.querySelector<HTMLButtonElement>('.azml-Pager-previous')!;
    expect(newer().disabled).toBe(true);
    expect(older().disabled).toBe(false);
    await act(async () => older().click());
    await settle();
    expect(container.querySelector('.azml-Pager-page')!.textContent).toBe(
      'Page 2'
    );
    expect(older().disabled).toBe(true);
    expect(newer().disabled).toBe(false);
    expect(
      container.querySelector<HTMLElement>('.azml-JobRow')!.dataset.jobName
    ).toBe('j1');
    unmount();
    model.dispose();
  });

  it("shows the server's error message instead of an empty list", async () => {
    const { model } = testModel({
      listJobs: async () => {
        throw new AzmlApiError(new Response(null, { status: 503 }), {
          error: 'backend_unavailable',
          message: 'Azure ML is not reachable: token expired'
        });
      }
    });
    await model.start();
    const { container, unmount } = render(
      <JobList model={model} trans={trans} onOpen={jest.fn()} />
    );
    const alert = container.querySelector('[role="alert"]')!;
    expect(alert.textContent).toBe('Azure ML is not reachable: token expired');
    expect(container.querySelector('.azml-JobList-empty')).toBeNull();
    unmount();
    model.dispose();
  });

  it('moves between rows with the arrow keys', async () => {
    const { model, api } = testModel();
    api.listJobs.mockResolvedValue(
      page([
        job('a', 'Completed'),
        job('b', 'Completed'),
        job('c', 'Completed')
      ])
    );
    await model.start();
    const { container, unmount } = render(
      <JobList model={model} trans={trans} onOpen={jest.fn()} />
    );
    const rows = Array.from(
      container.querySelectorAll<HTMLElement>('.azml-JobRow')
    );
    rows[0].focus();
    const list = container.querySelector('.azml-JobList')!;
    act(() => {
      rows[0].dispatchEvent(
        new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true })
      );
    });
    expect(document.activeElement).toBe(rows[1]);
    act(() => {
      rows[1].dispatchEvent(
        new KeyboardEvent('keydown', { key: 'ArrowUp', bubbles: true })
      );
    });
    expect(document.activeElement).toBe(rows[0]);
    expect(list).toBeTruthy();
    unmount();
    model.dispose();
  });

  it('marks the job just submitted', async () => {
    const { model, api } = testModel();
    api.listJobs.mockResolvedValue(
      page([job('new', 'Queued'), job('old', 'Completed')])
    );
    await model.start();
    model.jobSubmitted(job('new', 'Queued'));
    const { container, unmount } = render(
      <JobList model={model} trans={trans} onOpen={jest.fn()} />
    );
    expect(
      container.querySelector('.azml-mod-new')!.getAttribute('data-job-name')
    ).toBe('new');
    unmount();
    model.dispose();
  });
});

describe('OperationRow', () => {
  it('shows bytes, files, rate and a progress bar while copying', () => {
    const { model } = testModel();
    const op = operation({
      bytes_done: 5 * 1024 * 1024,
      bytes_total: 20 * 1024 * 1024,
      files_done: 3,
      files_total: 12,
      rate_bytes_per_second: 2.5 * 1024 * 1024,
      eta_seconds: 6
    });
    const { container, unmount } = render(
      <OperationRow operation={op} model={model} trans={trans} />
    );
    expect(
      container.querySelector('.azml-Operation-progress')!.textContent
    ).toBe('5.0 MB of 20 MB · 3 of 12 files · 2.5 MB/s · 6s left');
    const bar = container.querySelector<HTMLElement>('[role="progressbar"]')!;
    expect(bar.getAttribute('aria-valuenow')).toBe('25');
    expect(
      bar.querySelector<HTMLElement>('.azml-ProgressBar-fill')!.style.width
    ).toBe('25%');
    unmount();
  });

  it('Cancel asks the server to cancel the operation', async () => {
    const { model, api } = testModel();
    await model.copyIn({ path: 'data', name: 'data' });
    const { container, unmount } = render(
      <OperationRow
        operation={model.state.operations[0]}
        model={model}
        trans={trans}
      />
    );
    await act(async () =>
      container
        .querySelector<HTMLButtonElement>('.azml-Operation-cancel')!
        .click()
    );
    expect(api.cancelOperation).toHaveBeenCalledWith('op1');
    unmount();
    model.dispose();
  });

  it("shows a failed copy's message and the created asset of a finished one", () => {
    const { model } = testModel();
    const failed = render(
      <OperationRow
        operation={operation({
          state: 'Failed',
          error: "path 'x' is outside the Jupyter root"
        })}
        model={model}
        trans={trans}
      />
    );
    expect(failed.container.querySelector('[role="alert"]')!.textContent).toBe(
      "path 'x' is outside the Jupyter root"
    );
    expect(failed.container.querySelector('[role="progressbar"]')).toBeNull();
    failed.unmount();
    const done = render(
      <OperationRow
        operation={operation({
          state: 'Succeeded',
          result: { data_asset: { name: 'trips', version: '3' }, created: true }
        })}
        model={model}
        trans={trans}
      />
    );
    expect(
      done.container.querySelector('.azml-Operation-result')!.textContent
    ).toBe('Created azureml:trips:3');
    done.unmount();
  });
});

describe('DataSection', () => {
  const assets = [
    {
      name: 'trips',
      version: '2',
      type: 'uri_folder',
      path: 'azureml://x/2',
      size_bytes: 3 * 1024 * 1024,
      file_count: 4,
      created_at: null,
      description: null,
      tags: {}
    },
    {
      name: 'trips',
      version: '1',
      type: 'uri_folder',
      path: 'azureml://x/1',
      size_bytes: 1024,
      file_count: 3,
      created_at: null,
      description: null,
      tags: {}
    },
    {
      name: 'labels',
      version: '7',
      type: 'uri_file',
      path: 'azureml://y/7',
      size_bytes: 500,
      file_count: 1,
      created_at: null,
      description: null,
      tags: {}
    }
  ];

  it('groups versions by name, newest first', () => {
    expect(
      groupAssets(assets).map(([name, versions]) => [
        name,
        versions.map(v => v.version)
      ])
    ).toEqual([
      ['trips', ['2', '1']],
      ['labels', ['7']]
    ]);
  });

  it('shows each asset with its newest version and size; versions on demand', async () => {
    const { model } = testModel({ listData: async () => assets });
    await model.start();
    const { container, unmount } = render(
      <DataSection model={model} trans={trans} onCopyIn={jest.fn()} />
    );
    const trips = container.querySelector('[data-asset="trips"]')!;
    expect(trips.querySelector('.azml-Asset-latest')!.textContent).toBe('v2');
    expect(trips.querySelector('.azml-Asset-size')!.textContent).toBe(
      '3.0 MB · 4 files'
    );
    expect(
      container.querySelector('[data-asset="labels"] .azml-Asset-size')!
        .textContent
    ).toBe('500 B');
    expect(trips.querySelectorAll('.azml-AssetVersion')).toHaveLength(0);
    act(() =>
      trips.querySelector<HTMLButtonElement>('.azml-Asset-header')!.click()
    );
    expect(
      Array.from(trips.querySelectorAll('.azml-AssetVersion-ref')).map(
        n => n.textContent
      )
    ).toEqual(['azureml:trips:2', 'azureml:trips:1']);
    unmount();
    model.dispose();
  });
});

describe('ComputesSection and WorkspaceHeader', () => {
  it('shows nodes as current / max, the size and the state', async () => {
    const { model } = testModel({
      listComputes: async () =>
        computesAnswer([
          compute('cpu', { max_nodes: 4, current_nodes: 1, target_nodes: 1 })
        ])
    });
    await model.start();
    const onEdit = jest.fn();
    const { container, unmount } = render(
      <ComputesSection model={model} trans={trans} onEdit={onEdit} />
    );
    const row = container.querySelector('[data-compute="cpu"]')!;
    expect(row.querySelector('.azml-ComputeRow-nodes')!.textContent).toBe(
      '1 / 4'
    );
    expect(row.querySelector('.azml-ComputeRow-size')!.textContent).toBe(
      'Standard_DS3_v2'
    );
    expect(row.querySelector('.azml-ComputeRow-state')!.textContent).toBe(
      'Succeeded'
    );
    act(() => row.querySelector<HTMLButtonElement>('button')!.click());
    expect(onEdit).toHaveBeenCalledWith('cpu');
    unmount();
    model.dispose();
  });

  it('links to Azure ML studio for an Azure workspace', async () => {
    const { model } = testModel({
      fetchWorkspace: async () => ({
        backend: 'azure',
        name: 'ml-prod',
        location: 'westeurope',
        studio_url:
          'https://ml.azure.com/?wsid=/subscriptions/s/resourceGroups/g/workspaces/ml-prod'
      })
    });
    await model.start();
    const { container, unmount } = render(
      <WorkspaceHeader model={model} trans={trans} />
    );
    expect(
      container.querySelector('.azml-Workspace-backend')!.textContent
    ).toBe('azure');
    expect(
      container.querySelector('.azml-Workspace-location')!.textContent
    ).toBe('westeurope');
    const link =
      container.querySelector<HTMLAnchorElement>('.azml-StudioLink')!;
    expect(link.href).toContain('https://ml.azure.com/');
    expect(link.rel).toContain('noopener');
    unmount();
    model.dispose();
  });
});
