import { requestAPI, segment } from './request';

/**
 * Long work on the server (copy-in, cluster create or resize): `202` plus an
 * operation the panel polls (`azml_jupyter/models.py`, `Operation`).
 */
export interface IOperation {
  id: string;
  kind: 'copy_in' | 'compute_update' | string;
  state: 'Running' | 'Succeeded' | 'Failed' | 'Canceled';
  description: string;
  bytes_done: number;
  bytes_total: number | null;
  bytes_skipped: number;
  files_done: number;
  files_total: number | null;
  files_skipped: number;
  current_item: string | null;
  rate_bytes_per_second: number | null;
  eta_seconds: number | null;
  error: string | null;
  result: Record<string, any> | null;
  created_at: string | null;
  updated_at: string | null;
}

export function isOperationDone(operation: IOperation): boolean {
  return operation.state !== 'Running';
}

export function getOperation(id: string): Promise<IOperation> {
  return requestAPI<IOperation>(`operations/${segment(id)}`);
}

/** Cancel: the server stops the work and leaves nothing half-registered. */
export function cancelOperation(id: string): Promise<IOperation> {
  return requestAPI<IOperation>(`operations/${segment(id)}`, {
    method: 'DELETE'
  });
}
