import { requestAPI } from '../request';

/**
 * What `GET /azml/workspace` returns (`azml_jupyter/models.py`, `WorkspaceInfo`).
 */
export interface IWorkspaceInfo {
  /** `local`: the embedded engine; `azure`: an Azure ML workspace. */
  backend: 'local' | 'azure';
  name: string;
  /** The Azure region (`local` for the embedded engine). */
  location?: string | null;
  subscription_id?: string | null;
  resource_group?: string | null;
  /** The local workspace folder (AZML_JUPYTER_HOME); null for Azure. */
  home?: string | null;
  /** Azure ML studio page of the workspace; null for the local engine. */
  studio_url?: string | null;
}

export function fetchWorkspace(signal?: AbortSignal): Promise<IWorkspaceInfo> {
  return requestAPI<IWorkspaceInfo>('workspace', { signal });
}
