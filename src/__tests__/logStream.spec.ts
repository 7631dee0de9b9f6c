import { ServerConnection } from '@jupyterlab/services';

import { IEventSourceLike, LogStream } from '../jobs/logStream';
import { AzmlApiError } from '../request';

/** An EventSource the test drives: `emit` a server event, `refuse` the connection. */
class FakeEventSource implements IEventSourceLike {
  static opened: FakeEventSource[] = [];
  readyState = 0;
  closed = false;
  private listeners = new Map<string, ((event: Event) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.opened.push(this);
  }

  addEventListener(type: string, listener: (event: Event) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  open(): void {
    this.readyState = 1;
    this.dispatch('open', new Event('open'));
  }

  emit(type: string, data: string, lastEventId = ''): void {
    this.dispatch(type, new MessageEvent(type, { data, lastEventId }));
  }

  /** The HTTP answer was not 200: the browser closes and fires a plain error. */
  refuse(): void {
    this.readyState = 2;
    this.dispatch('error', new Event('error'));
  }

  /** The connection dropped: the browser will reconnect by itself. */
  drop(): void {
    this.readyState = 0;
    this.dispatch('error', new Event('error'));
  }

  private dispatch(type: string, event: Event): void {
    for (const listener of this.listeners.get(type) ?? []) {
      listener(event);
    }
  }
}

const settings = ServerConnection.makeSettings({
  baseUrl: 'http://localhost:8888/lab-base/',
  token: 'secret-token'
});

function stream(
  probe: (url: string) => Promise<Error | null> = async () => null,
  maxChars?: number
): LogStream {
  FakeEventSource.opened = [];
  return new LogStream({
    name: 'job/one',
    serverSettings: settings,
    factory: url => new FakeEventSource(url),
    probe,
    maxChars
  });
}

const flush = () => new Promise(resolve => setTimeout(resolve, 0));

describe('LogStream', () => {
  it('opens the job log URL without a token (the page cookie authenticates)', () => {
    const logs = stream();
    logs.start();
    expect(FakeEventSource.opened[0].url).toBe(
      'http://localhost:8888/lab-base/azml/jobs/job%2Fone/logs'
    );
    logs.dispose();
  });

  it('appends log events line by line and remembers the byte offset', () => {
    const logs = stream();
    logs.start();
    const source = FakeEventSource.opened[0];
    source.open();
    source.emit('log', 'line 1\nline 2', '14');
    source.emit('log', 'line 3', '21');
    expect(logs.text).toBe('line 1\nline 2\nline 3\n');
    expect(logs.offset).toBe(21);
    expect(logs.state).toBe('streaming');
    logs.dispose();
  });

  it('reports status changes and the end, then closes', () => {
    const logs = stream();
    const statuses: string[] = [];
    const ended: string[] = [];
    logs.statusChanged.connect((_, status) => statuses.push(status));
    logs.ended.connect((_, status) => ended.push(status));
    logs.start();
    const source = FakeEventSource.opened[0];
    source.emit('status', '{"status": "Running"}');
    source.emit('status', '{"status": "Running"}');
    source.emit('log', 'done', '5');
    source.emit('end', '{"status": "Completed"}');
    expect(statuses).toEqual(['Running', 'Completed']);
    expect(ended).toEqual(['Completed']);
    expect(source.closed).toBe(true);
    expect(logs.state).toBe('ended');
    logs.dispose();
  });

  it("shows the server's message when the stream is refused", async () => {
    const probe = jest.fn(
      async () =>
        new AzmlApiError(new Response(null, { status: 404 }), {
          error: 'not_found',
          message: "Job 'job/one' not found."
        })
    );
    const logs = stream(probe);
    logs.start();
    FakeEventSource.opened[0].refuse();
    await flush();
    expect(probe).toHaveBeenCalledTimes(1);
    expect(logs.state).toBe('failed');
    expect(logs.error).toBe("Job 'job/one' not found.");
    expect(FakeEventSource.opened).toHaveLength(1); // no retry loop
    logs.dispose();
  });

  it('falls back to ?token= when cookies were refused but the header works, resuming at the offset', async () => {
    const logs = stream(async () => null);
    logs.start();
    const first = FakeEventSource.opened[0];
    first.emit('log', 'early line', '11');
    first.refuse();
    await flush();
    expect(logs.usesToken).toBe(true);
    expect(FakeEventSource.opened).toHaveLength(2);
    const url = new URL(FakeEventSource.opened[1].url);
    expect(url.searchParams.get('offset')).toBe('11');
    expect(url.searchParams.get('token')).toBe('secret-token');
    logs.dispose();
  });

  it('waits for the browser to reconnect after a dropped connection', () => {
    const logs = stream();
    logs.start();
    const source = FakeEventSource.opened[0];
    source.emit('log', 'a', '2');
    source.drop();
    expect(logs.state).toBe('reconnecting');
    expect(FakeEventSource.opened).toHaveLength(1); // the browser resumes with Last-Event-ID itself
    source.open();
    expect(logs.state).toBe('streaming');
    logs.dispose();
  });

  it("stops on the server's in-band error event", () => {
    const logs = stream();
    logs.start();
    FakeEventSource.opened[0].emit(
      'error',
      '{"error": "backend_unavailable", "message": "log storage unreachable"}'
    );
    expect(logs.state).toBe('failed');
    expect(logs.error).toBe('log storage unreachable');
    expect(FakeEventSource.opened[0].closed).toBe(true);
    logs.dispose();
  });

  it('keeps memory bounded by dropping the oldest chunks', () => {
    const logs = stream(async () => null, 20);
    logs.start();
    const source = FakeEventSource.opened[0];
    source.emit('log', 'aaaaaaaaa', '10');
    source.emit('log', 'bbbbbbbbb', '20');
    source.emit('log', 'ccccccccc', '30');
    expect(logs.text).toBe('bbbbbbbbb\nccccccccc\n');
    expect(logs.trimmed).toBe(true);
    logs.dispose();
  });
});
