import { ServerConnection } from '@jupyterlab/services';

import {
  apiURL,
  AzmlApiError,
  probeError,
  requestAPI,
  requestConditional
} from '../request';

/** Server settings whose fetch answers every call with `respond()`. */
function settingsAnswering(respond: (url: string) => Response): {
  settings: ServerConnection.ISettings;
  calls: string[];
} {
  const calls: string[] = [];
  const fetch = async (input: RequestInfo | URL): Promise<Response> => {
    const url = typeof input === 'string' ? input : (input as Request).url;
    calls.push(url);
    return respond(url);
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/',
    fetch
  });
  return { settings, calls };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('requestAPI', () => {
  it('turns a failing response into an Error carrying the server body', async () => {
    const { settings, calls } = settingsAnswering(() =>
      json(404, {
        error: 'not_found',
        message: 'Job "ghost-job" does not exist',
        details: { name: 'ghost-job' }
      })
    );

    let caught: unknown;
    try {
      await requestAPI('jobs/ghost-job', { serverSettings: settings });
    } catch (error) {
      caught = error;
    }

    // ServerConnection may append a cache-busting query string to GETs.
    expect(calls.map(url => new URL(url).pathname)).toEqual([
      '/azml/jobs/ghost-job'
    ]);
    expect(caught).toBeInstanceOf(AzmlApiError);
    expect(caught).toBeInstanceOf(ServerConnection.ResponseError);
    const apiError = caught as AzmlApiError;
    expect(apiError.message).toBe('Job "ghost-job" does not exist');
    expect(apiError.code).toBe('not_found');
    expect(apiError.status).toBe(404);
    expect(apiError.details).toEqual({ name: 'ghost-job' });
  });

  it('keeps the status line when the error body is not JSON', async () => {
    const { settings } = settingsAnswering(
      () => new Response('', { status: 502, statusText: 'Bad Gateway' })
    );

    await expect(
      requestAPI('workspace', { serverSettings: settings })
    ).rejects.toMatchObject({
      name: 'AzmlApiError',
      code: 'http_502',
      message: '502 Bad Gateway'
    });
  });

  it('shows a short plain-text error body, never an HTML page', async () => {
    const { settings } = settingsAnswering(url =>
      url.includes('plain')
        ? new Response('kernel is busy', {
            status: 409,
            headers: { 'Content-Type': 'text/plain; charset=utf-8' }
          })
        : new Response('<html><body>404: Not Found</body></html>', {
            status: 404,
            statusText: 'Not Found',
            headers: { 'Content-Type': 'text/html' }
          })
    );

    await expect(
      requestAPI('plain', { serverSettings: settings })
    ).rejects.toMatchObject({ code: 'http_409', message: 'kernel is busy' });
    await expect(
      requestAPI('workspace', { serverSettings: settings })
    ).rejects.toMatchObject({ code: 'http_404', message: '404 Not Found' });
  });

  it('returns the parsed JSON body on success', async () => {
    const facts = { backend: 'local', name: 'local', home: '/tmp/azml' };
    const { settings } = settingsAnswering(() => json(200, facts));

    await expect(
      requestAPI('workspace', { serverSettings: settings })
    ).resolves.toEqual(facts);
  });
});

describe('requestConditional', () => {
  it('sends If-None-Match and reports 304 as "not modified"', async () => {
    const seen: (string | null)[] = [];
    const fetch = async (input: RequestInfo | URL): Promise<Response> => {
      const request = input as Request;
      seen.push(request.headers.get('If-None-Match'));
      return request.headers.get('If-None-Match') === '"v1"'
        ? new Response(null, { status: 304 })
        : new Response(JSON.stringify({ jobs: [], next_cursor: null }), {
            status: 200,
            headers: { 'Content-Type': 'application/json', ETag: '"v1"' }
          });
    };
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch
    });

    const first = await requestConditional('jobs?limit=5', {
      serverSettings: settings
    });
    expect(first).toEqual({
      notModified: false,
      data: { jobs: [], next_cursor: null },
      etag: '"v1"'
    });
    const second = await requestConditional('jobs?limit=5', {
      etag: '"v1"',
      serverSettings: settings
    });
    expect(second).toEqual({ notModified: true, etag: '"v1"' });
    expect(seen).toEqual([null, '"v1"']);
  });

  it('still turns an error into the server message', async () => {
    const { settings } = settingsAnswering(() =>
      json(400, {
        error: 'invalid_request',
        message: 'limit must be between 1 and 1000.'
      })
    );
    await expect(
      requestConditional('jobs?limit=0', { serverSettings: settings })
    ).rejects.toMatchObject({
      code: 'invalid_request',
      message: 'limit must be between 1 and 1000.'
    });
  });
});

describe('apiURL and probeError', () => {
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/base/'
  });

  it('builds an absolute URL with an encoded query, leaving out empty values', () => {
    expect(
      apiURL(
        'jobs/a%2Fb/logs',
        { offset: 12, token: undefined, x: '' },
        settings
      )
    ).toBe('http://localhost:8888/base/azml/jobs/a%2Fb/logs?offset=12');
    expect(apiURL('jobs', {}, settings)).toBe(
      'http://localhost:8888/base/azml/jobs'
    );
  });

  it('returns the refusal of a stream URL, and null when it is accepted', async () => {
    const { settings: refusing } = settingsAnswering(() =>
      json(404, { error: 'not_found', message: "Job 'x' not found." })
    );
    const error = await probeError(
      'http://localhost:8888/azml/jobs/x/logs',
      refusing
    );
    expect(error?.message).toBe("Job 'x' not found.");
    const { settings: accepting } = settingsAnswering(
      () =>
        new Response('event: log\ndata: hi\n\n', {
          status: 200,
          headers: { 'Content-Type': 'text/event-stream' }
        })
    );
    expect(
      await probeError('http://localhost:8888/azml/jobs/x/logs', accepting)
    ).toBeNull();
  });
});

describe('requestAPI cache mode', () => {
  it("adds JupyterLab's cache buster by default, not with cache: no-cache", async () => {
    const { settings, calls } = settingsAnswering(() => json(200, {}));
    await requestAPI('computes/recommend?gpus=1', { serverSettings: settings });
    await requestAPI('computes/recommend?gpus=1', {
      serverSettings: settings,
      cache: 'no-cache'
    });
    expect(new URL(calls[0]).search).toMatch(/^\?gpus=1&\d+$/);
    expect(new URL(calls[1]).search).toBe('?gpus=1');
  });
});
