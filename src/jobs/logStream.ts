import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { apiURL, errorMessage, probeError, segment } from '../request';

/**
 * A job's log as Server-Sent Events (`GET /azml/jobs/{name}/logs`).
 *
 * The server sends `log` events whose `id` is the byte offset after them,
 * `status` events when the status changes, a final `end`, and an in-band
 * `error` if reading fails after the stream started.
 *
 * Authentication (checked in the real browser, `ui-tests/test_jobs.py`):
 * `EventSource` cannot send JupyterLab's `Authorization: token` header, but it
 * sends the page's cookies, and jupyter_server accepts its login cookie for a
 * same-origin GET (no XSRF token is needed for GET). So the stream opens with
 * no token in the URL. When the server refuses it anyway (a deployment with
 * header-only auth), the same URL is fetched once through ServerConnection:
 * if that succeeds, the stream is reopened with `?token=` (jupyter_server
 * accepts a token parameter on GET); if it fails, its JSON message is shown.
 *
 * Resume: after a dropped connection the browser reconnects by itself and
 * sends `Last-Event-ID`; when this class opens a new EventSource it passes
 * `?offset=` (the last id). Either way the server sends no line twice.
 */

/** The part of `EventSource` used here (tests pass a fake). */
export interface IEventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: Event) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => IEventSourceLike;

const CONNECTING = 0;
const CLOSED = 2;

export interface ILogChunk {
  id: number;
  text: string;
}

export type LogStreamState =
  'connecting' | 'streaming' | 'reconnecting' | 'ended' | 'failed';

export interface ILogStreamOptions {
  name: string;
  serverSettings?: ServerConnection.ISettings;
  factory?: EventSourceFactory;
  /** Why the server refused a stream (default: fetch it through ServerConnection). */
  probe?: (url: string) => Promise<Error | null>;
  /** Text kept in memory; older chunks are dropped beyond it. */
  maxChars?: number;
}

/** Reopen attempts in a row that received nothing, before giving up. */
const MAX_RESTARTS = 3;

export class LogStream {
  constructor(options: ILogStreamOptions) {
    this.name = options.name;
    this._settings = options.serverSettings ?? ServerConnection.makeSettings();
    this._factory = options.factory ?? ((url: string) => new EventSource(url));
    this._probe = options.probe ?? (url => probeError(url, this._settings));
    this._maxChars = options.maxChars ?? 2_000_000;
  }

  readonly name: string;

  get chunks(): readonly ILogChunk[] {
    return this._chunks;
  }

  /** The whole text kept (tests, copy). */
  get text(): string {
    return this._chunks.map(c => c.text).join('');
  }

  /** True once early chunks were dropped to bound memory. */
  get trimmed(): boolean {
    return this._trimmed;
  }

  get state(): LogStreamState {
    return this._state;
  }

  /** The last status the stream reported (null before the first). */
  get status(): string | null {
    return this._status;
  }

  get error(): string | null {
    return this._error;
  }

  /** Byte offset after the last chunk received: where a new stream resumes. */
  get offset(): number {
    return this._offset;
  }

  /** True when the stream was opened with `?token=` (cookies were not enough). */
  get usesToken(): boolean {
    return this._useToken;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The job's status changed (or was first reported). */
  get statusChanged(): ISignal<this, string> {
    return this._statusChanged;
  }

  /** The job ended and every line was received. */
  get ended(): ISignal<this, string> {
    return this._ended;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The URL of the stream from the current offset. */
  url(): string {
    return apiURL(
      `jobs/${segment(this.name)}/logs`,
      {
        offset: this._offset > 0 ? this._offset : undefined,
        token: this._useToken ? this._settings.token : undefined
      },
      this._settings
    );
  }

  start(): void {
    if (this._disposed || this._source) {
      return;
    }
    this._open();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._close();
    Signal.clearData(this);
  }

  private _open(): void {
    this._setState(this._chunks.length ? 'reconnecting' : 'connecting');
    const source = this._factory(this.url());
    this._source = source;
    source.addEventListener('open', () => {
      if (this._source === source) {
        this._setState('streaming');
      }
    });
    source.addEventListener('log', event => {
      if (this._source === source) {
        this._onLog(event as MessageEvent);
      }
    });
    source.addEventListener('status', event => {
      if (this._source === source) {
        this._onStatus((event as MessageEvent).data);
      }
    });
    source.addEventListener('end', event => {
      if (this._source === source) {
        this._onEnd((event as MessageEvent).data);
      }
    });
    source.addEventListener('error', event => {
      if (this._source === source) {
        void this._onError(source, event);
      }
    });
  }

  private _onLog(event: MessageEvent): void {
    this._restarts = 0;
    // One `data:` line per log line; SSE joins them with "\n" and drops the last newline.
    this._append(`${event.data}\n`);
    const offset = Number(event.lastEventId);
    if (Number.isFinite(offset) && offset > 0) {
      this._offset = offset;
    }
    if (this._state !== 'streaming') {
      this._state = 'streaming';
    }
    this._changed.emit();
  }

  private _onStatus(data: string): void {
    this._restarts = 0;
    const status = parseStatus(data);
    if (status && status !== this._status) {
      this._status = status;
      this._changed.emit();
      this._statusChanged.emit(status);
    }
  }

  private _onEnd(data: string): void {
    const status = parseStatus(data) ?? this._status ?? '';
    this._close();
    if (status && status !== this._status) {
      this._status = status;
      this._statusChanged.emit(status);
    }
    this._setState('ended');
    this._ended.emit(status);
  }

  private async _onError(
    source: IEventSourceLike,
    event: Event
  ): Promise<void> {
    const data = (event as MessageEvent).data;
    if (typeof data === 'string' && data) {
      // The server's in-band `error` event: reading the log failed mid-stream.
      this._close();
      this._fail(parseMessage(data));
      return;
    }
    if (source.readyState === CONNECTING) {
      // The connection dropped; the browser reconnects with Last-Event-ID.
      this._setState('reconnecting');
      return;
    }
    if (source.readyState !== CLOSED) {
      return;
    }
    // Refused (an HTTP error: the EventSource API hides which one). Ask why.
    this._close();
    if (++this._restarts > MAX_RESTARTS) {
      this._fail('The log stream keeps closing; reopen the job to try again.');
      return;
    }
    let problem: Error | null;
    try {
      problem = await this._probe(this.url());
    } catch (error) {
      problem = error as Error;
    }
    if (this._disposed) {
      return;
    }
    if (problem === null) {
      // Fine with the Authorization header: cookies were not enough here.
      if (!this._useToken && this._settings.token) {
        this._useToken = true;
      }
      this._open();
      return;
    }
    this._fail(errorMessage(problem));
  }

  private _append(text: string): void {
    this._chunks = [...this._chunks, { id: this._nextId++, text }];
    this._chars += text.length;
    while (this._chars > this._maxChars && this._chunks.length > 1) {
      this._chars -= this._chunks[0].text.length;
      this._chunks = this._chunks.slice(1);
      this._trimmed = true;
    }
  }

  private _fail(message: string): void {
    this._error = message;
    this._setState('failed');
  }

  private _setState(state: LogStreamState): void {
    if (this._state !== state) {
      this._state = state;
      this._changed.emit();
    }
  }

  private _close(): void {
    if (this._source) {
      this._source.close();
      this._source = null;
    }
  }

  private _settings: ServerConnection.ISettings;
  private _factory: EventSourceFactory;
  private _probe: (url: string) => Promise<Error | null>;
  private _maxChars: number;
  private _source: IEventSourceLike | null = null;
  private _chunks: ILogChunk[] = [];
  private _chars = 0;
  private _nextId = 0;
  private _trimmed = false;
  private _offset = 0;
  private _status: string | null = null;
  private _error: string | null = null;
  private _state: LogStreamState = 'connecting';
  private _useToken = false;
  private _restarts = 0;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _statusChanged = new Signal<this, string>(this);
  private _ended = new Signal<this, string>(this);
}

function parseStatus(data: string): string | null {
  try {
    const value = JSON.parse(data);
    return typeof value?.status === 'string' ? value.status : null;
  } catch {
    return null;
  }
}

function parseMessage(data: string): string {
  try {
    const value = JSON.parse(data);
    if (typeof value?.message === 'string') {
      return value.message;
    }
  } catch {
    // not JSON: show it as is
  }
  return data;
}
