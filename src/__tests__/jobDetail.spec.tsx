import { ServerConnection } from '@jupyterlab/services';
import { CommandRegistry } from '@lumino/commands';
import React from 'react';

import { JobDetail } from '../jobs/JobDetail';
import { LogStream } from '../jobs/logStream';
import { act, job, render, settle, testModel, trans } from './helpers';

/** A log stream that never connects (the detail's layout is under test here). */
function idleStream(name: string): LogStream {
  return new LogStream({
    name,
    serverSettings: ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/'
    }),
    factory: () => ({
      readyState: 0,
      addEventListener: () => undefined,
      close: () => undefined
    })
  });
}

function commandsRecording(): {
  commands: CommandRegistry;
  runs: [string, unknown][];
} {
  const commands = new CommandRegistry();
  const runs: [string, unknown][] = [];
  for (const id of [
    'azml:cancel-job',
    'azml:open-job',
    'azml:download-outputs'
  ]) {
    commands.addCommand(id, { execute: args => void runs.push([id, args]) });
  }
  return { commands, runs };
}

// Outputs come from GET /azml/jobs/{name}/outputs through requestAPI: answer it here.
beforeEach(() => {
  jest.spyOn(ServerConnection, 'makeRequest').mockImplementation(
    async () =>
      new Response(
        JSON.stringify({
          outputs: [
            {
              output: 'default',
              path: 'user_logs/std_log.txt',
              size_bytes: 2048
            }
          ]
        }),
        { status: 200, headers: { 'Content-Type': 'application/json' } }
      )
  );
});
afterEach(() => jest.restoreAllMocks());

describe('JobDetail', () => {
  it("shows a pipeline's properties and steps, and opens a step", async () => {
    const pipeline = job('pipe-1', 'Running', {
      type: 'pipeline',
      display_name: 'nyc-taxi',
      started_at: new Date(Date.now() - 5000).toISOString(),
      inputs: {
        raw: {
          type: 'uri_folder',
          uri: 'azureml://datastores/workspaceblobstore/paths/raw'
        }
      },
      children: [
        job('pipe-1-prep', 'Completed', {
          parent_name: 'pipe-1',
          step_name: 'prep'
        }),
        job('pipe-1-train', 'Running', {
          parent_name: 'pipe-1',
          step_name: 'train'
        })
      ]
    });
    const { model } = testModel({ getJob: jest.fn(async () => pipeline) });
    await model.refreshStatuses();
    await model.fetchJob('pipe-1');
    const { commands, runs } = commandsRecording();
    const stream = idleStream('pipe-1');
    const { container, unmount } = render(
      <JobDetail
        name="pipe-1"
        model={model}
        commands={commands}
        trans={trans}
        stream={stream}
        loadError={null}
      />
    );
    await settle();
    expect(container.querySelector('.azml-JobDetail-title')!.textContent).toBe(
      'nyc-taxi'
    );
    expect(container.querySelector('.azml-JobProperty-type')!.textContent).toBe(
      'pipeline'
    );
    expect(
      container.querySelector('.azml-JobProperty-input')!.textContent
    ).toBe('uri_folder azureml://datastores/workspaceblobstore/paths/raw');
    const steps = Array.from(
      container.querySelectorAll<HTMLElement>('.azml-JobStep')
    );
    expect(
      steps.map(s => [
        s.querySelector('button')!.textContent,
        s.querySelector('.azml-StatusBadge')!.textContent
      ])
    ).toEqual([
      ['prep', 'Completed'],
      ['train', 'Running']
    ]);
    act(() => steps[1].querySelector('button')!.click());
    await settle();
    expect(runs).toContainEqual(['azml:open-job', { name: 'pipe-1-train' }]);
    // Issue 21, item 12: "1 file", and what the default output is.
    const output = container.querySelector('[data-output="default"]')!;
    expect(output.textContent).toBe(
      'default1 file, 2.0 KB./outputs, ./logs and the job log'
    );
    expect(output.getAttribute('title')).toContain('user_logs/std_log.txt');
    unmount();
    stream.dispose();
    model.dispose();
  });

  it('offers Cancel only while the job runs, and a studio link on Azure', async () => {
    const running = job('az-1', 'Running', {
      studio_url: 'https://ml.azure.com/runs/az-1'
    });
    const { model, api } = testModel({ getJob: jest.fn(async () => running) });
    await model.refreshStatuses();
    await model.fetchJob('az-1');
    const { commands, runs } = commandsRecording();
    const stream = idleStream('az-1');
    const { container, unmount } = render(
      <JobDetail
        name="az-1"
        model={model}
        commands={commands}
        trans={trans}
        stream={stream}
        loadError={null}
      />
    );
    await settle();
    expect(
      container.querySelector<HTMLAnchorElement>('.azml-StudioLink')!.href
    ).toBe('https://ml.azure.com/runs/az-1');
    act(() =>
      container
        .querySelector<HTMLButtonElement>('.azml-JobDetail-cancel')!
        .click()
    );
    await settle();
    expect(runs).toContainEqual(['azml:cancel-job', { name: 'az-1' }]);

    api.getJob.mockResolvedValueOnce({ ...running, status: 'Canceled' });
    await act(async () => {
      await model.fetchJob('az-1');
    });
    expect(container.querySelector('.azml-JobDetail-cancel')).toBeNull();
    unmount();
    stream.dispose();
    model.dispose();
  });

  it("shows why the job could not be loaded (the server's message)", async () => {
    const { model } = testModel();
    await model.refreshStatuses();
    const { commands } = commandsRecording();
    const stream = idleStream('ghost');
    const { container, unmount } = render(
      <JobDetail
        name="ghost"
        model={model}
        commands={commands}
        trans={trans}
        stream={stream}
        loadError="Job 'ghost' not found."
      />
    );
    expect(container.querySelector('[role="alert"]')!.textContent).toBe(
      "Job 'ghost' not found."
    );
    unmount();
    stream.dispose();
    model.dispose();
  });
});
