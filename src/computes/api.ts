import { IOperation } from '../operations';
import { requestAPI, segment } from '../request';

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

export async function listComputes(): Promise<IComputeInfo[]> {
  return (await requestAPI<{ computes: IComputeInfo[] }>('computes')).computes;
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
