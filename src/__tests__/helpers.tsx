import { nullTranslator } from '@jupyterlab/translation';
import React, { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import { IComputeInfo } from '../computes/api';
import { IJobPage, IJobRecord } from '../jobs/api';
import { AzmlModel, IAzmlApi } from '../model';
import { IOperation } from '../operations';
import { ConditionalResult } from '../request';
import { IJobStatus, StatusTable } from '../statuses';

// React 18: tell React this is a test environment where updates are wrapped in act().
(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

export const trans = nullTranslator.load('azml_jupyter');

/** What GET /azml/statuses answers (azml_jupyter/models.py status_table()), kept short on purpose. */
export const STATUSES: IJobStatus[] = [
  {
    name: 'NotStarted',
    terminal: false,
    category: 'idle',
    color: 'var(--jp-layout-color3)'
  },
  {
    name: 'Queued',
    terminal: false,
    category: 'waiting',
    color: 'var(--jp-warn-color2)'
  },
  {
    name: 'Running',
    terminal: false,
    category: 'running',
    color: 'var(--jp-brand-color1)'
  },
  {
    name: 'CancelRequested',
    terminal: false,
    category: 'stopping',
    color: 'var(--jp-warn-color1)'
  },
  {
    name: 'Completed',
    terminal: true,
    category: 'succeeded',
    color: 'var(--jp-success-color1)'
  },
  {
    name: 'Failed',
    terminal: true,
    category: 'failed',
    color: 'var(--jp-error-color1)'
  },
  {
    name: 'Canceled',
    terminal: true,
    category: 'canceled',
    color: 'var(--jp-layout-color4)'
  }
];

export function job(
  name: string,
  status: string,
  extra: Partial<IJobRecord> = {}
): IJobRecord {
  return {
    name,
    type: 'command',
    status,
    display_name: null,
    experiment_name: 'exp',
    description: null,
    tags: {},
    compute: 'local',
    environment: null,
    command: 'echo hi',
    parent_name: null,
    step_name: null,
    created_at: '2026-11-26T09:00:00.000Z',
    started_at: null,
    ended_at: null,
    exit_code: null,
    error: null,
    inputs: {},
    outputs: {},
    studio_url: null,
    children: null,
    ...extra
  };
}

export function page(
  jobs: IJobRecord[],
  next: string | null = null,
  etag = '"e1"'
): ConditionalResult<IJobPage> {
  return { notModified: false, data: { jobs, next_cursor: next }, etag };
}

export function operation(extra: Partial<IOperation> = {}): IOperation {
  return {
    id: 'op1',
    kind: 'copy_in',
    state: 'Running',
    description: 'Copy trips into data asset trips',
    bytes_done: 0,
    bytes_total: null,
    bytes_skipped: 0,
    files_done: 0,
    files_total: null,
    files_skipped: 0,
    current_item: null,
    rate_bytes_per_second: null,
    eta_seconds: null,
    error: null,
    result: null,
    created_at: null,
    updated_at: null,
    ...extra
  };
}

/** An API whose every call is a jest mock; `listJobs` answers an empty page unless told otherwise. */
export function fakeApi(
  overrides: Partial<IAzmlApi> = {}
): jest.Mocked<IAzmlApi> {
  const api: IAzmlApi = {
    fetchWorkspace: jest.fn(async () => ({
      backend: 'local' as const,
      name: 'home',
      location: 'local',
      home: '/tmp/h'
    })),
    fetchStatuses: jest.fn(async () => new StatusTable(STATUSES)),
    listComputes: jest.fn(async () => computesAnswer([])),
    updateCompute: jest.fn(async () => operation({ kind: 'compute_update' })),
    listData: jest.fn(async () => []),
    startCopyIn: jest.fn(async () => operation()),
    getOperation: jest.fn(async () => operation()),
    cancelOperation: jest.fn(async () => operation({ state: 'Canceled' })),
    listJobs: jest.fn(async () => page([])),
    getJob: jest.fn(async (name: string) => job(name, 'Running')),
    submitJob: jest.fn(async () => job('new-job', 'Queued')),
    cancelJob: jest.fn(async (name: string) => job(name, 'CancelRequested')),
    ...overrides
  };
  return api as jest.Mocked<IAzmlApi>;
}

/** A model on a fake API with no refresh loop (tests drive refreshes). */
export function testModel(overrides: Partial<IAzmlApi> = {}): {
  model: AzmlModel;
  api: jest.Mocked<IAzmlApi>;
} {
  const api = fakeApi(overrides);
  return { model: new AzmlModel({ api, poll: false }), api };
}

/** Render into a fresh container inside act(). */
export function render(element: React.ReactElement): {
  container: HTMLElement;
  root: Root;
  unmount: () => void;
} {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  act(() => root.render(element));
  return {
    container,
    root,
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    }
  };
}

/** Let pending promises (fake API answers) settle inside act(). */
export async function settle(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 5; i++) {
      await Promise.resolve();
    }
  });
}

export { act };

/** A cluster as GET /azml/computes lists it. */
export function compute(
  name: string,
  extra: Partial<IComputeInfo> = {}
): IComputeInfo {
  return {
    name,
    type: 'amlcompute',
    size: 'Standard_DS3_v2',
    state: 'Succeeded',
    min_nodes: 0,
    max_nodes: 2,
    current_nodes: 0,
    target_nodes: null,
    idle_seconds: 120,
    tier: 'dedicated',
    location: 'westeurope',
    queued_jobs: 0,
    ...extra
  };
}

/** What the fake `listComputes` answers: a 200 with an ETag. */
export function computesAnswer(
  list: IComputeInfo[],
  etag = '"c1"'
): ConditionalResult<IComputeInfo[]> {
  return { notModified: false, data: list, etag };
}
