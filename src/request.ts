import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * The JSON error body every `/azml/...` route returns on failure.
 */
export interface IApiErrorBody {
  /** Machine-readable code, e.g. `not_found`, `invalid_spec`. */
  error: string;
  /** Human-readable text, shown as is in the UI. */
  message: string;
  /** Optional structured context (field errors, the offending value...). */
  details?: unknown;
}

/**
 * A failed call to the server extension.
 *
 * It extends JupyterLab's `ResponseError` (so generic error dialogs keep working)
 * and carries the server's `{error, message, details}` body.
 */
export class AzmlApiError extends ServerConnection.ResponseError {
  /** The server's error code; `http_<status>` when the body was not our JSON. */
  readonly code: string;
  readonly details: unknown;
  readonly status: number;

  constructor(response: Response, body: IApiErrorBody) {
    super(response, body.message);
    this.name = 'AzmlApiError';
    this.code = body.error;
    this.details = body.details;
    this.status = response.status;
  }
}

/**
 * Options of one request.
 */
export interface IRequestOptions {
  /** HTTP method; GET by default. */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Sent as JSON when given. */
  body?: unknown;
  signal?: AbortSignal;
  /**
   * The fetch cache mode. JupyterLab's default (`no-store`) makes
   * ServerConnection append a cache-busting `?<timestamp>` to GETs; a route
   * that refuses unknown query parameters needs `no-cache` instead (still
   * always asks the server).
   */
  cache?: RequestCache;
  /** Server settings; the page's own by default (tests pass their own). */
  serverSettings?: ServerConnection.ISettings;
}

/** The REST namespace of the server extension. */
const API_NAMESPACE = 'azml';

function isApiErrorBody(value: unknown): value is IApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as IApiErrorBody).message === 'string'
  );
}

function isShortPlainText(response: Response, data: unknown): data is string {
  const type = response.headers.get('Content-Type') ?? '';
  return (
    type.startsWith('text/plain') &&
    typeof data === 'string' &&
    data.length > 0 &&
    data.length < 500
  );
}

/** One path segment (a job name, an operation id) safe to put in a URL. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

async function send(
  url: string,
  init: RequestInit,
  settings: ServerConnection.ISettings
): Promise<Response> {
  try {
    return await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    if ((error as Error)?.name === 'AbortError') {
      throw error;
    }
    throw new ServerConnection.NetworkError(error as TypeError);
  }
}

/** The JSON body of a response, or the AzmlApiError it stands for. */
async function readBody<T>(response: Response, url: string): Promise<T> {
  const text = await response.text();
  let data: unknown = undefined;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }

  if (!response.ok) {
    throw errorFromResponse(response, data);
  }
  if (typeof data === 'string') {
    throw new AzmlApiError(response, {
      error: 'invalid_response',
      message: `Expected JSON from ${url}, got text`,
      details: text.slice(0, 200)
    });
  }
  return data as T;
}

/** The AzmlApiError for a non-2xx response whose body was read into `data`. */
export function errorFromResponse(
  response: Response,
  data: unknown
): AzmlApiError {
  const body: IApiErrorBody = isApiErrorBody(data)
    ? {
        error: data.error ?? `http_${response.status}`,
        message: data.message,
        details: data.details
      }
    : {
        // Not our JSON (an HTML error page, a proxy...): a short plain-text
        // body is worth showing, anything else becomes the status line.
        error: `http_${response.status}`,
        message: isShortPlainText(response, data)
          ? data
          : `${response.status} ${response.statusText}`.trim(),
        details: undefined
      };
  return new AzmlApiError(response, body);
}

/**
 * Call `/azml/<endPoint>` on the Jupyter server: JSON in, JSON out.
 *
 * @returns the parsed JSON body, or `undefined` for an empty body (204).
 * @throws AzmlApiError when the server answers with a non-2xx status.
 * @throws ServerConnection.NetworkError when the server cannot be reached.
 */
export async function requestAPI<T>(
  endPoint: string,
  options: IRequestOptions = {}
): Promise<T> {
  const settings = options.serverSettings ?? ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  const init: RequestInit = {
    method: options.method ?? 'GET',
    signal: options.signal
  };
  if (options.cache) {
    init.cache = options.cache;
  }
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  const response = await send(url, init, settings);
  return readBody<T>(response, url);
}

/**
 * The result of a conditional GET: the body, or "unchanged since that ETag".
 */
export type ConditionalResult<T> =
  | { notModified: false; data: T; etag: string | null }
  | { notModified: true; etag: string };

/**
 * GET `/azml/<endPoint>` with `If-None-Match: etag` when an ETag is given.
 * A `304 Not Modified` answer costs the browser no parsing and the panel no
 * re-render: the caller keeps what it has.
 *
 * @throws AzmlApiError / ServerConnection.NetworkError as `requestAPI`.
 */
export async function requestConditional<T>(
  endPoint: string,
  options: { etag?: string | null } & Omit<
    IRequestOptions,
    'method' | 'body'
  > = {}
): Promise<ConditionalResult<T>> {
  const settings = options.serverSettings ?? ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  const init: RequestInit = { method: 'GET', signal: options.signal };
  if (options.etag) {
    init.headers = { 'If-None-Match': options.etag };
  }
  // ServerConnection appends a cache-busting query to GETs, so the browser's
  // cache never answers for the server: the ETag round trip is ours.
  const response = await send(url, init, settings);
  if (response.status === 304) {
    return { notModified: true, etag: options.etag ?? '' };
  }
  const data = await readBody<T>(response, url);
  return { notModified: false, data, etag: response.headers.get('ETag') };
}

/**
 * The absolute URL of `/azml/<endPoint>` with a query string: for
 * `EventSource`, which cannot go through `ServerConnection`.
 */
export function apiURL(
  endPoint: string,
  query: Record<string, string | number | undefined | null> = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);
  const params = Object.entries(query)
    .filter(
      ([, value]) => value !== undefined && value !== null && value !== ''
    )
    .map(
      ([key, value]) =>
        `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
    );
  return params.length ? `${url}?${params.join('&')}` : url;
}

/**
 * A fetch of `/azml/<url>` through ServerConnection (so with the page's
 * authentication) that only reads the body when the answer is an error.
 * The log viewer uses it to learn why an `EventSource` was refused (the
 * `EventSource` API hides the HTTP status): `null` when the server accepts.
 */
export async function probeError(
  url: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<AzmlApiError | null> {
  const controller = new AbortController();
  const response = await send(
    url,
    { method: 'GET', signal: controller.signal },
    settings
  );
  if (response.ok) {
    controller.abort(); // a live stream: do not read it
    return null;
  }
  try {
    await readBody(response, url);
  } catch (error) {
    if (error instanceof AzmlApiError) {
      return error;
    }
    throw error;
  }
  return null;
}

/**
 * The message of any error, for display: the server's `message`, a network
 * failure's text, or the error's own message. Never empty.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error && error.message) {
    return error.message;
  }
  if (typeof error === 'string' && error) {
    return error;
  }
  return 'Unknown error (the browser console may have more).';
}
