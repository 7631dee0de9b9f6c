import { IOperation } from '../operations';
import { requestAPI } from '../request';

/** One version of a data asset (`azml_jupyter/models.py`, `DataAsset`). */
export interface IDataAsset {
  name: string;
  version: string;
  type: 'uri_file' | 'uri_folder' | string;
  /** `azureml://datastores/<ds>/paths/<p>` */
  path: string;
  size_bytes: number | null;
  file_count: number | null;
  created_at: string | null;
  description: string | null;
  tags: Record<string, string>;
}

/** `POST /azml/data`: copy a file or folder under the Jupyter root into a new asset version. */
export interface ICopyInRequest {
  /** Relative to the Jupyter root, as the file browser shows it. */
  path: string;
  name: string;
  type?: 'uri_file' | 'uri_folder';
  version?: string;
  description?: string;
}

/** Every version, grouped by name, newest version first (the server's order). */
export async function listData(): Promise<IDataAsset[]> {
  return (await requestAPI<{ data: IDataAsset[] }>('data')).data;
}

export function startCopyIn(request: ICopyInRequest): Promise<IOperation> {
  return requestAPI<IOperation>('data', { method: 'POST', body: request });
}
