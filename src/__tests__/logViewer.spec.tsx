import { ServerConnection } from '@jupyterlab/services';
import React from 'react';

import { IEventSourceLike, LogStream } from '../jobs/logStream';
import { LogViewer } from '../jobs/LogViewer';
import { act, render, trans } from './helpers';

type Listener = (event: Event) => void;

function streamWithSource(): {
  stream: LogStream;
  emit: (type: string, data: string, id?: string) => void;
} {
  const listeners = new Map<string, Listener[]>();
  const source: IEventSourceLike = {
    readyState: 1,
    addEventListener: (type, listener) =>
      listeners.set(type, [...(listeners.get(type) ?? []), listener]),
    close: () => undefined
  };
  const stream = new LogStream({
    name: 'job-1',
    serverSettings: ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/'
    }),
    factory: () => source
  });
  stream.start();
  const emit = (type: string, data: string, id = '') =>
    act(() => {
      for (const listener of listeners.get(type) ?? []) {
        listener(new MessageEvent(type, { data, lastEventId: id }));
      }
    });
  return { stream, emit };
}

describe('LogViewer', () => {
  it('appends streamed lines and follows the tail until the user scrolls up', () => {
    const { stream, emit } = streamWithSource();
    const { container, unmount } = render(
      <LogViewer stream={stream} trans={trans} />
    );
    const pre = container.querySelector<HTMLPreElement>(
      '.azml-LogViewer-text'
    )!;
    // jsdom has no layout: give the log box a size.
    let height = 1000;
    Object.defineProperty(pre, 'scrollHeight', { get: () => height });
    Object.defineProperty(pre, 'clientHeight', { get: () => 100 });

    emit('log', 'epoch 1\nepoch 2', '16');
    expect(pre.textContent).toBe('epoch 1\nepoch 2\n');
    expect(container.querySelector('.azml-LogViewer-state')!.textContent).toBe(
      'Live'
    );
    expect(pre.scrollTop).toBe(1000);

    // The user scrolls up to read: following stops, new lines do not move the view.
    act(() => {
      pre.scrollTop = 200;
      pre.dispatchEvent(new Event('scroll'));
    });
    const follow = container.querySelector<HTMLInputElement>(
      '.azml-LogViewer-follow input'
    )!;
    expect(follow.checked).toBe(false);
    height = 1200;
    emit('log', 'epoch 3', '24');
    expect(pre.scrollTop).toBe(200);

    // Back at the end: following again.
    act(() => {
      pre.scrollTop = 1100;
      pre.dispatchEvent(new Event('scroll'));
    });
    expect(follow.checked).toBe(true);
    height = 1400;
    emit('log', 'epoch 4', '32');
    expect(pre.scrollTop).toBe(1400);

    emit('end', '{"status": "Completed"}');
    expect(container.querySelector('.azml-LogViewer-state')!.textContent).toBe(
      'End of log (Completed)'
    );
    unmount();
    stream.dispose();
  });
});
