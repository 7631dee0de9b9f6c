import { IOperation } from '../operations';
import {
  ConditionalResult,
  requestAPI,
  requestConditional,
  segment
} from '../request';

/** A cluster (`azml_jupyter/models.py`, `ComputeInfo`). */
export interface IComputeInfo {
  name: string;
  /** `local`, `amlcompute`, `computeinstance`... */
  type: string;
  size: string | null;
  /** Provisioning state: Succeeded, Creating, Updating, Failed... */
  state: string | null;
  min_nodes: number;
  max_nodes: number;
  /** Nodes busy (local engine) or allocated (Azure). */
  current_nodes: number;
  target_nodes: number | null;
  idle_seconds: number | null;
  tier: string | null;
  location: string | null;
  queued_jobs: number | null;
}

/** A VM size the workspace offers (`VmSize`). */
export interface IVmSize {
  name: string;
  vcpus: number | null;
  memory_gb: number | null;
  gpus: number;
  family: string | null;
  low_priority_capable: boolean | null;
}

/** `PUT /azml/computes/{name}`: absent fields keep their current value. */
export interface IComputeRequest {
  size?: string;
  min_nodes?: number;
  max_nodes?: number;
  idle_seconds?: number;
  tier?: 'dedicated' | 'low_priority';
}

/** Conditional (`If-None-Match`): the panel polls the clusters beside the jobs. */
export async function listComputes(
  etag?: string | null
): Promise<ConditionalResult<IComputeInfo[]>> {
  const result = await requestConditional<{ computes: IComputeInfo[] }>(
    'computes',
    { etag }
  );
  return result.notModified
    ? result
    : { ...result, data: result.data.computes };
}

/** Provisioning states after which a cluster changes no more by itself. */
const SETTLED_STATES = new Set(['Succeeded', 'Failed', 'Canceled']);

/** True while a cluster is being created, updated or resized (worth watching closely). */
export function isComputeSettling(compute: IComputeInfo): boolean {
  const resizing =
    compute.target_nodes !== null &&
    compute.target_nodes !== compute.current_nodes;
  return (
    (compute.state !== null && !SETTLED_STATES.has(compute.state)) || resizing
  );
}

export async function listSizes(): Promise<IVmSize[]> {
  return (await requestAPI<{ sizes: IVmSize[] }>('computes/sizes')).sizes;
}

export function updateCompute(
  name: string,
  request: IComputeRequest
): Promise<IOperation> {
  return requestAPI<IOperation>(`computes/${segment(name)}`, {
    method: 'PUT',
    body: request
  });
}

/** What `GET /azml/computes/recommend` is asked (docs/cluster-sizing.md). */
export interface IRecommendQuery {
  /** A file or folder under the Jupyter root the jobs read. */
  data?: string;
  /** Or a data asset: `name`, `name:version`, `azureml:name@latest`. */
  asset?: string;
  memory_gb?: number;
  gpus?: number;
  max_nodes?: number;
  tier?: string;
  idle_seconds?: number;
  /** The cluster being resized (its own quota claim is given back). */
  name?: string;
}

/** The part of a ranked size the panel shows (`sizing/recommend.py`, `Recommendation`). */
export interface IRecommendation {
  rank: number;
  size: IVmSize;
  nodes: number;
  tier: string;
  memory_gb: number;
  needed_memory_gb: number;
  price_per_hour: number | null;
  price_at_max_nodes: number | null;
  fits_quota: boolean | null;
  reasons: string[];
}

/** `SizingResult`: qualifying sizes best first, those over quota, and why none qualifies. */
export interface ISizingResult {
  needed_memory_gb: number;
  memory_basis: string;
  recommendations: IRecommendation[];
  over_quota: IRecommendation[];
  impossible: string[];
  notes: string[];
}

export function recommendSize(query: IRecommendQuery): Promise<ISizingResult> {
  const params = Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => `${key}=${encodeURIComponent(String(value))}`)
    .join('&');
  // `no-cache`: the route refuses unknown query parameters, JupyterLab's
  // cache-busting `&<timestamp>` included (reported to the server's owner).
  return requestAPI<ISizingResult>(
    params ? `computes/recommend?${params}` : 'computes/recommend',
    { cache: 'no-cache' }
  );
}
