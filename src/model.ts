import { ISignal, Signal } from '@lumino/signaling';
import { useCallback, useSyncExternalStore } from 'react';

import {
  IComputeInfo,
  IComputeRequest,
  isComputeSettling,
  listComputes,
  updateCompute
} from './computes/api';
import { ICopyInRequest, IDataAsset, listData, startCopyIn } from './data/api';
import {
  cancelJob,
  getJob,
  IJobPage,
  IJobQuery,
  IJobRecord,
  jobsQueryString,
  listJobs,
  submitJob,
  SubmitBody
} from './jobs/api';
import { PollMode, RefreshLoop } from './jobs/refreshLoop';
import {
  cancelOperation,
  getOperation,
  IOperation,
  isOperationDone
} from './operations';
import { ConditionalResult, errorMessage } from './request';
import { fetchStatuses, StatusTable } from './statuses';
import { fetchWorkspace, IWorkspaceInfo } from './workspace/api';

/**
 * THE PANEL'S ONE STATE STORE (decision).
 *
 * A plain class that holds everything the panel shows — workspace, status
 * table, computes, data assets, long operations, the job list (filter, page,
 * ETag) and the job records detail views opened — as one immutable snapshot
 * (`state`), replaced on every change and announced by one `changed` signal.
 * React reads it with `useModel(model, select)` (`useSyncExternalStore`);
 * commands, the job detail and notifications call its methods. Chosen over a
 * React context because commands and notifications live outside any React
 * tree, and because the model is tested without a DOM.
 *
 * All server calls go through `IAzmlApi` (the real REST functions by default,
 * fakes in the tests).
 */

export interface ILoadable<T> {
  value: T | null;
  /** True during a load started by the user (background refreshes stay quiet). */
  loading: boolean;
  /** The server's message when the last load failed. */
  error: string | null;
}

/** `all`, `active` (every non-terminal status) or one status name. */
export type JobFilter = string;

export interface IJobsState {
  filter: JobFilter;
  pageSize: number;
  /** The cursor of each page visited so far; the last one is the current page's. */
  cursors: readonly (string | null)[];
  page: readonly IJobRecord[];
  nextCursor: string | null;
  loading: boolean;
  error: string | null;
  /** Bumped every time a new page arrived (not on 304s). */
  version: number;
}

export interface IAzmlState {
  workspace: ILoadable<IWorkspaceInfo>;
  statuses: StatusTable;
  statusesError: string | null;
  computes: ILoadable<IComputeInfo[]>;
  data: ILoadable<IDataAsset[]>;
  /** Copy-ins and compute updates started from this page, newest first. */
  operations: readonly IOperation[];
  jobs: IJobsState;
  /** Full records (with pipeline children) of jobs whose detail was opened. */
  records: ReadonlyMap<string, IJobRecord>;
  /** The job submitted last from this page (marked in the list). */
  highlight: string | null;
}

/** Every server call the model makes; `defaultApi` is the REST API. */
export interface IAzmlApi {
  fetchWorkspace(): Promise<IWorkspaceInfo>;
  fetchStatuses(): Promise<StatusTable>;
  listComputes(
    etag?: string | null
  ): Promise<ConditionalResult<IComputeInfo[]>>;
  updateCompute(name: string, request: IComputeRequest): Promise<IOperation>;
  listData(): Promise<IDataAsset[]>;
  startCopyIn(request: ICopyInRequest): Promise<IOperation>;
  getOperation(id: string): Promise<IOperation>;
  cancelOperation(id: string): Promise<IOperation>;
  listJobs(
    query: IJobQuery,
    etag?: string | null
  ): Promise<ConditionalResult<IJobPage>>;
  getJob(name: string): Promise<IJobRecord>;
  submitJob(body: SubmitBody): Promise<IJobRecord>;
  cancelJob(name: string): Promise<IJobRecord>;
}

export const defaultApi: IAzmlApi = {
  fetchWorkspace: () => fetchWorkspace(),
  fetchStatuses: () => fetchStatuses(),
  listComputes,
  updateCompute,
  listData,
  startCopyIn,
  getOperation,
  cancelOperation,
  listJobs,
  getJob,
  submitJob,
  cancelJob
};

export const PAGE_SIZES = [25, 50, 100, 250, 500];
export const DEFAULT_PAGE_SIZE = 50;
/** How often a running operation (copy-in, compute update) is polled. */
export const OPERATION_POLL_MS = 500;
/** Watched jobs outside the listed page fetched by name per refresh, at most. */
const MAX_OFF_PAGE_FETCHES = 10;

function idle<T>(): ILoadable<T> {
  return { value: null, loading: false, error: null };
}

export interface IAzmlModelOptions {
  api?: IAzmlApi;
  /** Start the refresh loop (tests drive refreshes by hand). */
  poll?: boolean;
}

export class AzmlModel {
  constructor(options: IAzmlModelOptions = {}) {
    this.api = options.api ?? defaultApi;
    if (options.poll ?? true) {
      this._loop = new RefreshLoop({
        tick: () => this.pollTick(),
        mode: () => this.pollMode()
      });
    }
  }

  readonly api: IAzmlApi;

  /** The current snapshot; replaced (never mutated) on every change. */
  get state(): IAzmlState {
    return this._state;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A job seen in a non-terminal state reached a terminal one. */
  get jobEnded(): ISignal<this, IJobRecord> {
    return this._jobEnded;
  }

  /** An operation started from this page ended (any outcome). */
  get operationEnded(): ISignal<this, IOperation> {
    return this._operationEnded;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Load everything once; the status table first (jobs need it to be classified). */
  async start(): Promise<void> {
    const others = Promise.all([
      this.refreshWorkspace(),
      this.refreshComputes(),
      this.refreshData()
    ]);
    await this.refreshStatuses();
    await this.refreshJobs({ user: true }).catch(() => false); // shown in the list
    await others;
    this._loop?.reschedule();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._loop?.dispose();
    for (const timer of this._operationTimers.values()) {
      clearTimeout(timer);
    }
    this._operationTimers.clear();
    Signal.clearData(this);
  }

  // ---- visibility and polling ----------------------------------------------------------------

  /** The sidebar tells the model when it is shown or hidden. */
  setVisible(visible: boolean): void {
    if (visible === this._visible) {
      return;
    }
    this._visible = visible;
    if (visible) {
      void this._loop?.poke();
    } else {
      this._loop?.reschedule();
    }
  }

  get visible(): boolean {
    return this._visible;
  }

  /** See `jobs/refreshLoop.ts` for what each mode means. */
  pollMode(): PollMode {
    // A cluster being created or resized is watched like a running job.
    const watching =
      this._watched.size > 0 ||
      (this._state.computes.value ?? []).some(isComputeSettling);
    if (this._visible) {
      return watching ? 'active' : 'idle';
    }
    return watching ? 'background' : 'off';
  }

  /** Names of jobs seen not ended, whose end will be announced. */
  get watchedJobs(): ReadonlyMap<string, string> {
    return this._watched;
  }

  /**
   * One refresh: the listed page (conditional), then watched jobs that are not
   * on it (by name, a few per round), then the computes (conditional: node
   * counts follow the jobs, and the CLI or the sizing widget may change a
   * cluster while no job changes). True when anything changed.
   */
  async pollTick(): Promise<boolean> {
    let changed = await this.refreshJobs();
    const onPage = new Set(this._state.jobs.page.map(job => job.name));
    const offPage = [...this._watched.keys()]
      .filter(name => !onPage.has(name))
      .slice(0, MAX_OFF_PAGE_FETCHES);
    for (const name of offPage) {
      try {
        const before = this._watched.get(name);
        const record = await this.api.getJob(name);
        this._storeRecord(record, false);
        changed = changed || before !== record.status;
      } catch {
        // A job deleted elsewhere (or a passing network error): stop watching it.
        this._watched.delete(name);
      }
    }
    const computesChanged = await this.refreshComputes();
    return changed || computesChanged;
  }

  /** Refresh the list now (after a submit, a cancel, or the Refresh button). */
  async refreshNow(): Promise<void> {
    if (this._loop) {
      await this._loop.poke();
    } else {
      await this.pollTick();
    }
  }

  // ---- workspace, statuses, computes, data -----------------------------------------------------

  async refreshWorkspace(): Promise<void> {
    this._update({
      workspace: { ...this._state.workspace, loading: true, error: null }
    });
    try {
      const value = await this.api.fetchWorkspace();
      this._update({ workspace: { value, loading: false, error: null } });
    } catch (error) {
      this._update({
        workspace: { value: null, loading: false, error: errorMessage(error) }
      });
    }
  }

  async refreshStatuses(): Promise<void> {
    try {
      const statuses = await this.api.fetchStatuses();
      this._update({ statuses, statusesError: null });
    } catch (error) {
      this._update({ statusesError: errorMessage(error) });
    }
  }

  /**
   * Fetch the clusters; a background refresh sends the last ETag (a 304 keeps
   * what is shown). Resolves true when the list changed.
   */
  async refreshComputes(options: { user?: boolean } = {}): Promise<boolean> {
    const current = this._state.computes;
    if (options.user || current.value === null) {
      this._update({ computes: { ...current, loading: true, error: null } });
    }
    const request = ++this._computesRequest;
    try {
      const result = await this.api.listComputes(
        options.user ? null : this._computesEtag
      );
      if (request !== this._computesRequest) {
        return false; // a newer fetch answers instead
      }
      if (result.notModified) {
        const { value, loading, error } = this._state.computes;
        if (loading || error) {
          this._update({ computes: { value, loading: false, error: null } });
        }
        return false; // nothing new: no re-render
      }
      this._computesEtag = result.etag;
      this._update({
        computes: { value: result.data, loading: false, error: null }
      });
      return true;
    } catch (error) {
      if (request !== this._computesRequest) {
        return false;
      }
      this._update({
        computes: {
          value: this._state.computes.value,
          loading: false,
          error: errorMessage(error)
        }
      });
      return false;
    }
  }

  async refreshData(options: { user?: boolean } = {}): Promise<void> {
    const current = this._state.data;
    if (options.user || current.value === null) {
      this._update({ data: { ...current, loading: true, error: null } });
    }
    try {
      const value = await this.api.listData();
      this._update({ data: { value, loading: false, error: null } });
    } catch (error) {
      this._update({
        data: {
          value: this._state.data.value,
          loading: false,
          error: errorMessage(error)
        }
      });
    }
  }

  // ---- the job list --------------------------------------------------------------------------

  /** The query of the current page. */
  jobsQuery(): IJobQuery {
    const { filter, pageSize, cursors } = this._state.jobs;
    let status: string[] | undefined;
    if (filter === 'active') {
      status = this._state.statuses.activeNames();
    } else if (filter !== 'all') {
      status = [filter];
    }
    return { status, limit: pageSize, cursor: cursors[cursors.length - 1] };
  }

  /**
   * Fetch the current page; `user` shows a loading state and ignores the ETag.
   * Resolves true when the page changed.
   */
  async refreshJobs(options: { user?: boolean } = {}): Promise<boolean> {
    const query = this.jobsQuery();
    const key = jobsQueryString(query);
    const etag = !options.user && key === this._etagKey ? this._etag : null;
    const request = ++this._jobsRequest;
    if (options.user) {
      this._updateJobs({ loading: true, error: null });
    }
    let result: ConditionalResult<IJobPage>;
    try {
      result = await this.api.listJobs(query, etag);
    } catch (error) {
      if (request === this._jobsRequest) {
        this._updateJobs({ loading: false, error: errorMessage(error) });
      }
      throw error;
    }
    if (request !== this._jobsRequest) {
      return false; // a newer request (another page or filter) answers instead
    }
    if (result.notModified) {
      if (this._state.jobs.loading || this._state.jobs.error) {
        this._updateJobs({ loading: false, error: null });
      }
      return false;
    }
    this._etag = result.etag;
    this._etagKey = key;
    for (const job of result.data.jobs) {
      this._watch(job);
    }
    this._updateJobs({
      page: result.data.jobs,
      nextCursor: result.data.next_cursor,
      loading: false,
      error: null,
      version: this._state.jobs.version + 1
    });
    return true;
  }

  setJobFilter(filter: JobFilter): Promise<boolean> {
    this._updateJobs({ filter, cursors: [null] });
    return this._reloadJobs();
  }

  setPageSize(pageSize: number): Promise<boolean> {
    this._updateJobs({ pageSize, cursors: [null] });
    return this._reloadJobs();
  }

  nextPage(): Promise<boolean> {
    const { nextCursor, cursors } = this._state.jobs;
    if (!nextCursor) {
      return Promise.resolve(false);
    }
    this._updateJobs({ cursors: [...cursors, nextCursor] });
    return this._reloadJobs();
  }

  previousPage(): Promise<boolean> {
    const { cursors } = this._state.jobs;
    if (cursors.length <= 1) {
      return Promise.resolve(false);
    }
    this._updateJobs({ cursors: cursors.slice(0, -1) });
    return this._reloadJobs();
  }

  // ---- single jobs ---------------------------------------------------------------------------

  /** Fetch a job's full record (with pipeline steps) into `records`. */
  async fetchJob(name: string): Promise<IJobRecord> {
    const record = await this.api.getJob(name);
    this._storeRecord(record, true);
    return record;
  }

  async submit(body: SubmitBody): Promise<IJobRecord> {
    const record = await this.api.submitJob(body);
    this.jobSubmitted(record);
    return record;
  }

  /** A job submitted by other means (the kernel): watch it and show it. */
  jobSubmitted(record: Pick<IJobRecord, 'name' | 'status'>): void {
    if (!this._state.statuses.isTerminal(record.status)) {
      this._watched.set(record.name, record.status);
    }
    this._update({ highlight: record.name });
    void this.refreshNow();
  }

  async cancel(name: string): Promise<IJobRecord> {
    const record = await this.api.cancelJob(name);
    this._storeRecord(record, this._state.records.has(name));
    void this.refreshNow();
    return record;
  }

  // ---- operations (copy-in, compute updates) -------------------------------------------------

  async copyIn(request: ICopyInRequest): Promise<IOperation> {
    return this._track(await this.api.startCopyIn(request));
  }

  async updateCompute(
    name: string,
    request: IComputeRequest
  ): Promise<IOperation> {
    const operation = this._track(await this.api.updateCompute(name, request));
    if (!isOperationDone(operation)) {
      // A new cluster shows at once (Creating), a resize its new limits; again when it ends.
      void this.refreshComputes();
    }
    return operation;
  }

  async cancelOperation(id: string): Promise<IOperation> {
    const operation = await this.api.cancelOperation(id);
    this._operationChanged(operation);
    return operation;
  }

  /** Forget an ended operation (its row's close button). */
  dismissOperation(id: string): void {
    this._update({
      operations: this._state.operations.filter(op => op.id !== id)
    });
  }

  // ---- internals -------------------------------------------------------------------------------

  private _track(operation: IOperation): IOperation {
    this._update({ operations: [operation, ...this._state.operations] });
    if (isOperationDone(operation)) {
      this._operationFinished(operation);
    } else {
      this._scheduleOperationPoll(operation.id, OPERATION_POLL_MS);
    }
    return operation;
  }

  private _scheduleOperationPoll(id: string, delay: number): void {
    if (this._disposed || this._operationTimers.has(id)) {
      return;
    }
    const timer = setTimeout(async () => {
      this._operationTimers.delete(id);
      try {
        const operation = await this.api.getOperation(id);
        this._operationChanged(operation);
        if (!isOperationDone(operation)) {
          this._scheduleOperationPoll(id, OPERATION_POLL_MS);
        }
      } catch {
        // The server is restarting or the network dropped: keep trying, slower.
        this._scheduleOperationPoll(id, Math.min(delay * 2, 5000));
      }
    }, delay);
    this._operationTimers.set(id, timer);
  }

  private _operationChanged(operation: IOperation): void {
    const previous = this._state.operations.find(op => op.id === operation.id);
    this._update({
      operations: this._state.operations.map(op =>
        op.id === operation.id ? operation : op
      )
    });
    if (previous && !isOperationDone(previous) && isOperationDone(operation)) {
      this._operationFinished(operation);
    }
  }

  private _operationFinished(operation: IOperation): void {
    const timer = this._operationTimers.get(operation.id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this._operationTimers.delete(operation.id);
    }
    if (operation.kind === 'copy_in' && operation.state === 'Succeeded') {
      void this.refreshData();
    } else if (operation.kind === 'compute_update') {
      void this.refreshComputes(); // whatever the outcome: the cluster's state changed
    }
    this._operationEnded.emit(operation);
  }

  private async _reloadJobs(): Promise<boolean> {
    const changed = await this.refreshJobs({ user: true }).catch(() => false);
    this._loop?.reschedule();
    return changed;
  }

  /** Note a job's status; announce the end of a job seen not ended. */
  private _watch(job: IJobRecord): void {
    const statuses = this._state.statuses;
    if (!statuses.loaded) {
      return; // nothing can be called ended before the table arrived
    }
    if (!statuses.isTerminal(job.status)) {
      this._watched.set(job.name, job.status);
    } else if (this._watched.delete(job.name)) {
      this._jobEnded.emit(job);
    }
  }

  /** A fresh record from the server: into `records` (if kept), the listed page, the watch list. */
  private _storeRecord(record: IJobRecord, keep: boolean): void {
    this._watch(record);
    const patch: Partial<IAzmlState> = {};
    if (keep || this._state.records.has(record.name)) {
      const records = new Map(this._state.records);
      records.set(record.name, record);
      patch.records = records;
    }
    const jobs = this._state.jobs;
    const index = jobs.page.findIndex(job => job.name === record.name);
    if (index >= 0 && jobs.page[index].status !== record.status) {
      const page = [...jobs.page];
      // The list shows list records (no children); keep that shape.
      page[index] = { ...record, children: page[index].children };
      patch.jobs = { ...jobs, page };
    }
    this._update(patch);
  }

  private _updateJobs(patch: Partial<IJobsState>): void {
    this._update({ jobs: { ...this._state.jobs, ...patch } });
  }

  private _update(patch: Partial<IAzmlState>): void {
    if (this._disposed || Object.keys(patch).length === 0) {
      return;
    }
    this._state = { ...this._state, ...patch };
    this._changed.emit();
  }

  private _state: IAzmlState = {
    workspace: idle(),
    statuses: new StatusTable(),
    statusesError: null,
    computes: idle(),
    data: idle(),
    operations: [],
    jobs: {
      filter: 'all',
      pageSize: DEFAULT_PAGE_SIZE,
      cursors: [null],
      page: [],
      nextCursor: null,
      loading: false,
      error: null,
      version: 0
    },
    records: new Map(),
    highlight: null
  };
  private _changed = new Signal<this, void>(this);
  private _jobEnded = new Signal<this, IJobRecord>(this);
  private _operationEnded = new Signal<this, IOperation>(this);
  private _loop: RefreshLoop | null = null;
  private _visible = false;
  private _watched = new Map<string, string>();
  private _etag: string | null = null;
  private _etagKey: string | null = null;
  private _jobsRequest = 0;
  private _computesEtag: string | null = null;
  private _computesRequest = 0;
  private _operationTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private _disposed = false;
}

/**
 * Read a slice of the model in a React component; re-renders when that slice
 * changes. `select` must return a part of the state (or a primitive), not a
 * new object, so unchanged slices keep their identity.
 */
export function useModel<T>(
  model: AzmlModel,
  select: (state: IAzmlState) => T
): T {
  const subscribe = useCallback(
    (onChange: () => void) => {
      const slot = () => onChange();
      model.changed.connect(slot);
      return () => {
        model.changed.disconnect(slot);
      };
    },
    [model]
  );
  return useSyncExternalStore(subscribe, () => select(model.state));
}
