import { requestAPI } from './request';

/**
 * One Azure ML job status as the server describes it (`GET /azml/statuses`).
 * `azml_jupyter/models.py` (`JobStatus`, `STATUS_STYLE`) is the only source
 * of names, order, terminal flags, categories and colours: the front end
 * keeps no copy of its own.
 */
export interface IJobStatus {
  name: string;
  terminal: boolean;
  /** Display group: idle, waiting, starting, running, stopping, succeeded, failed, canceled. */
  category: string;
  /** A CSS colour, normally a JupyterLab variable such as `var(--jp-success-color1)`. */
  color: string;
}

export interface IStatusesResponse {
  statuses: IJobStatus[];
}

/** How a status the server did not list (a newer service) is shown. */
const UNKNOWN: Omit<IJobStatus, 'name'> = {
  terminal: false,
  category: 'unknown',
  color: 'var(--jp-layout-color4)'
};

/**
 * The status table, looked up by name. Names are matched case-insensitively
 * (the Azure SDK has spelled some states differently across versions) but
 * always shown as the server spells them.
 */
export class StatusTable {
  constructor(readonly statuses: readonly IJobStatus[] = []) {
    for (const status of statuses) {
      this._byName.set(status.name.toLowerCase(), status);
    }
  }

  /** True once the server's table arrived (an empty table knows nothing). */
  get loaded(): boolean {
    return this.statuses.length > 0;
  }

  get(name: string): IJobStatus {
    return this._byName.get(name.toLowerCase()) ?? { name, ...UNKNOWN };
  }

  /** A job in a terminal state will not change any more. */
  isTerminal(name: string): boolean {
    return this.get(name).terminal;
  }

  /** The non-terminal names in lifecycle order (the "Active" filter). */
  activeNames(): string[] {
    return this.statuses.filter(s => !s.terminal).map(s => s.name);
  }

  /** The names in lifecycle order. */
  names(): string[] {
    return this.statuses.map(s => s.name);
  }

  private _byName = new Map<string, IJobStatus>();
}

export async function fetchStatuses(
  signal?: AbortSignal
): Promise<StatusTable> {
  const response = await requestAPI<IStatusesResponse>('statuses', { signal });
  return new StatusTable(response.statuses);
}
