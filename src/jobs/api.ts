import {
  ConditionalResult,
  requestAPI,
  requestConditional,
  segment
} from '../request';

/** A job (`azml_jupyter/models.py`, `JobRecord`); a pipeline's step has `parent_name`. */
export interface IJobRecord {
  name: string;
  /** `command` | `pipeline` */
  type: string;
  /** An Azure ML status name; see `statuses.ts` for its look. */
  status: string;
  display_name: string | null;
  experiment_name: string | null;
  description: string | null;
  tags: Record<string, string>;
  compute: string | null;
  environment: string | null;
  command: string | null;
  parent_name: string | null;
  step_name: string | null;
  created_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  exit_code: number | null;
  error: string | null;
  inputs: Record<string, any>;
  outputs: Record<string, any>;
  studio_url: string | null;
  /** A pipeline's steps (`GET /azml/jobs/{name}` only). */
  children: IJobRecord[] | null;
}

export interface IJobPage {
  jobs: IJobRecord[];
  next_cursor: string | null;
}

export interface IJobQuery {
  status?: string[];
  experiment?: string;
  limit?: number;
  cursor?: string | null;
}

/** A file of a job output (`OutputFile`). */
export interface IOutputFile {
  /** `default` holds ./outputs, ./logs and user_logs; other names are named outputs. */
  output: string;
  path: string;
  size_bytes: number;
}

/** The bodies `POST /azml/jobs` accepts (docs/rest-contract.md). */
export type SubmitBody =
  | { path: string; name?: string; set?: Record<string, unknown> }
  | { yaml: string; base_path?: string; name?: string }
  | {
      notebook: string;
      parameters?: Record<string, unknown>;
      compute?: string;
      environment?: string;
      experiment_name?: string;
      display_name?: string;
    };

export function jobsQueryString(query: IJobQuery): string {
  const parts: string[] = [];
  for (const status of query.status ?? []) {
    parts.push(`status=${encodeURIComponent(status)}`);
  }
  if (query.experiment) {
    parts.push(`experiment=${encodeURIComponent(query.experiment)}`);
  }
  if (query.limit) {
    parts.push(`limit=${query.limit}`);
  }
  if (query.cursor) {
    parts.push(`cursor=${encodeURIComponent(query.cursor)}`);
  }
  return parts.join('&');
}

/** One page of top-level jobs, newest first; `304` when the ETag still holds. */
export function listJobs(
  query: IJobQuery,
  etag?: string | null
): Promise<ConditionalResult<IJobPage>> {
  const qs = jobsQueryString(query);
  return requestConditional<IJobPage>(qs ? `jobs?${qs}` : 'jobs', { etag });
}

export function getJob(name: string): Promise<IJobRecord> {
  return requestAPI<IJobRecord>(`jobs/${segment(name)}`);
}

export function submitJob(body: SubmitBody): Promise<IJobRecord> {
  return requestAPI<IJobRecord>('jobs', { method: 'POST', body });
}

export function cancelJob(name: string): Promise<IJobRecord> {
  return requestAPI<IJobRecord>(`jobs/${segment(name)}/cancel`, {
    method: 'POST',
    body: {}
  });
}

export async function listOutputs(name: string): Promise<IOutputFile[]> {
  const response = await requestAPI<{ outputs: IOutputFile[] }>(
    `jobs/${segment(name)}/outputs`
  );
  return response.outputs;
}

/** Files land under `path` like `az ml job download`; returns their paths (relative to the root). */
export async function downloadOutputs(
  name: string,
  path: string,
  output?: string
): Promise<string[]> {
  const response = await requestAPI<{ files: string[] }>(
    `jobs/${segment(name)}/download`,
    { method: 'POST', body: output ? { path, output } : { path } }
  );
  return response.files;
}

/** Azure ML's output holding every job's artifacts (`az ml job download` puts it in artifacts/). */
export const DEFAULT_OUTPUT = 'default';
