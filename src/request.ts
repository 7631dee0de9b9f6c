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
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { 'Content-Type': 'application/json' };
  }

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

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
    throw new AzmlApiError(response, body);
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
