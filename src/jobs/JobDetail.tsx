import { TranslationBundle } from '@jupyterlab/translation';
import {
  downloadIcon,
  launchIcon,
  ReactWidget,
  refreshIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import React, { useEffect, useState } from 'react';

import { CommandIDs } from '../commands/ids';
import { ErrorMessage, IconButton, useNow } from '../components';
import {
  formatBytes,
  formatDuration,
  formatFullTime,
  jobDuration
} from '../format';
import { azmlIcon } from '../icon';
import { AzmlModel, useModel } from '../model';
import { errorMessage } from '../request';
import { StatusTable } from '../statuses';
import { DEFAULT_OUTPUT, IJobRecord, IOutputFile, listOutputs } from './api';
import { LogStream } from './logStream';
import { LogViewer } from './LogViewer';
import { StatusBadge } from './StatusBadge';

/** Main-area id of a job's detail tab. */
export function jobWidgetId(name: string): string {
  return `azml-job-${name}`;
}

/** A pipeline's record is fetched again at most this often while its log grows (step statuses). */
const PIPELINE_REFRESH_MS = 2000;

/**
 * A job's tab in the main area: properties, a pipeline's steps, the live log,
 * outputs ("Download to folder…"), Cancel and the studio link. The tab owns
 * its log stream (opened when shown, closed with the tab); the record itself
 * lives in the model, so the list and the tab always agree.
 */
export class JobDetailWidget extends ReactWidget {
  constructor(
    readonly jobName: string,
    private readonly model: AzmlModel,
    private readonly commands: CommandRegistry,
    private readonly trans: TranslationBundle,
    stream?: LogStream
  ) {
    super();
    this.id = jobWidgetId(jobName);
    this.addClass('azml-JobDetail');
    this.title.label = jobName;
    this.title.caption = trans.__('Azure ML job %1', jobName);
    this.title.icon = azmlIcon;
    this.title.closable = true;
    this.stream = stream ?? new LogStream({ name: jobName });
    this.stream.statusChanged.connect(this._refreshRecord, this);
    this.stream.ended.connect(this._refreshRecord, this);
    this.stream.changed.connect(this._onLogChanged, this);
    model.changed.connect(this._updateTitle, this);
  }

  readonly stream: LogStream;

  dispose(): void {
    this.stream.dispose();
    this.model.changed.disconnect(this._updateTitle, this);
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.stream.start();
    this._refreshRecord();
  }

  protected render(): JSX.Element {
    return (
      <JobDetail
        name={this.jobName}
        model={this.model}
        commands={this.commands}
        trans={this.trans}
        stream={this.stream}
        loadError={this._loadError}
      />
    );
  }

  private _refreshRecord(): void {
    this._lastFetch = Date.now();
    this.model.fetchJob(this.jobName).then(
      () => {
        if (this._loadError) {
          this._loadError = null;
          this.update();
        }
      },
      error => {
        this._loadError = errorMessage(error);
        this.update();
      }
    );
  }

  private _onLogChanged(): void {
    const record = this.model.state.records.get(this.jobName);
    if (
      record?.type === 'pipeline' &&
      Date.now() - this._lastFetch > PIPELINE_REFRESH_MS
    ) {
      this._refreshRecord();
    }
  }

  private _updateTitle(): void {
    const record = this.model.state.records.get(this.jobName);
    const label = record?.display_name || this.jobName;
    if (this.title.label !== label) {
      this.title.label = label;
    }
  }

  private _loadError: string | null = null;
  private _lastFetch = 0;
}

export function JobDetail(props: {
  name: string;
  model: AzmlModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  stream: LogStream;
  loadError: string | null;
}): JSX.Element {
  const { name, model, commands, trans, stream, loadError } = props;
  const record = useModel(model, s => s.records.get(name));
  const statuses = useModel(model, s => s.statuses);
  const [actionError, setActionError] = useState<string | null>(null);
  const terminal = record ? statuses.isTerminal(record.status) : false;
  const now = useNow(1000, !!record && !terminal && !!record.started_at);

  const run = (command: string, args: Record<string, string>) => {
    setActionError(null);
    commands
      .execute(command, args)
      .catch(error => setActionError(errorMessage(error)));
  };

  return (
    <div className="azml-JobDetail-content" data-job-name={name}>
      <header className="azml-JobDetail-header">
        {record && <StatusBadge status={record.status} statuses={statuses} />}
        <h2 className="azml-JobDetail-title" title={name}>
          {record?.display_name || name}
        </h2>
        <div className="azml-JobDetail-actions">
          <IconButton
            icon={refreshIcon}
            title={trans.__('Refresh')}
            onClick={() =>
              void model
                .fetchJob(name)
                .catch(e => setActionError(errorMessage(e)))
            }
          />
          {record && !terminal && (
            <IconButton
              icon={stopIcon}
              className="azml-JobDetail-cancel"
              title={trans.__('Cancel this job…')}
              label={trans.__('Cancel')}
              onClick={() => run(CommandIDs.cancelJob, { name })}
            />
          )}
          {record?.studio_url && (
            <a
              className="jp-Button jp-mod-minimal azml-StudioLink"
              href={record.studio_url}
              target="_blank"
              rel="noopener noreferrer"
              title={trans.__('Open this job in Azure ML studio')}
            >
              <launchIcon.react tag="span" />
              {trans.__('Studio')}
            </a>
          )}
        </div>
      </header>
      <ErrorMessage message={loadError} />
      <ErrorMessage
        message={actionError}
        onDismiss={() => setActionError(null)}
        dismissLabel={trans.__('Dismiss')}
      />
      {record && <JobProperties job={record} now={now} trans={trans} />}
      {record?.children && record.children.length > 0 && (
        <JobSteps
          steps={record.children}
          statuses={statuses}
          trans={trans}
          onOpen={step => run(CommandIDs.openJob, { name: step })}
        />
      )}
      {record && (
        <JobOutputs
          name={name}
          terminal={terminal}
          status={record.status}
          trans={trans}
          onDownload={() => run(CommandIDs.downloadOutputs, { name })}
        />
      )}
      <h3 className="azml-JobDetail-subtitle">{trans.__('Log')}</h3>
      <LogViewer stream={stream} trans={trans} />
    </div>
  );
}

function JobProperties({
  job,
  now,
  trans
}: {
  job: IJobRecord;
  now: number;
  trans: TranslationBundle;
}): JSX.Element {
  const facts: [string, React.ReactNode, string][] = [
    [trans.__('Name'), job.name, 'name'],
    [trans.__('Type'), job.type, 'type'],
    [trans.__('Status'), job.status, 'status'],
    [trans.__('Experiment'), job.experiment_name, 'experiment'],
    [trans.__('Compute'), job.compute, 'compute'],
    [trans.__('Environment'), job.environment, 'environment'],
    [trans.__('Created'), formatFullTime(job.created_at), 'created'],
    [trans.__('Started'), formatFullTime(job.started_at), 'started'],
    [trans.__('Ended'), formatFullTime(job.ended_at), 'ended'],
    [
      trans.__('Duration'),
      formatDuration(jobDuration(job, now || Date.now())),
      'duration'
    ],
    [trans.__('Exit code'), job.exit_code, 'exit-code'],
    [trans.__('Parent'), job.parent_name, 'parent'],
    [trans.__('Description'), job.description, 'description']
  ];
  const inputs = Object.entries(job.inputs ?? {});
  const outputs = Object.entries(job.outputs ?? {});
  return (
    <details className="azml-JobProperties" open>
      <summary>{trans.__('Properties')}</summary>
      <dl className="azml-Facts">
        {facts
          .filter(
            ([, value]) => value !== null && value !== undefined && value !== ''
          )
          .map(([label, value, key]) => (
            <React.Fragment key={key}>
              <dt>{label}</dt>
              <dd className={`azml-JobProperty-${key}`}>{value}</dd>
            </React.Fragment>
          ))}
        {job.command && (
          <>
            <dt>{trans.__('Command')}</dt>
            <dd>
              <code className="azml-JobProperty-command">{job.command}</code>
            </dd>
          </>
        )}
        {inputs.map(([key, value]) => (
          <React.Fragment key={`in-${key}`}>
            <dt>{trans.__('Input %1', key)}</dt>
            <dd className="azml-JobProperty-input">{describeBinding(value)}</dd>
          </React.Fragment>
        ))}
        {outputs.map(([key, value]) => (
          <React.Fragment key={`out-${key}`}>
            <dt>{trans.__('Output %1', key)}</dt>
            <dd className="azml-JobProperty-output">
              {describeBinding(value)}
            </dd>
          </React.Fragment>
        ))}
        {Object.entries(job.tags ?? {}).map(([key, value]) => (
          <React.Fragment key={`tag-${key}`}>
            <dt>{trans.__('Tag %1', key)}</dt>
            <dd>{value}</dd>
          </React.Fragment>
        ))}
      </dl>
      {job.error && <ErrorMessage message={job.error} />}
    </details>
  );
}

/** An input or output binding as one line: `uri_folder azureml://…` or a literal. */
export function describeBinding(value: unknown): string {
  if (value && typeof value === 'object') {
    const binding = value as Record<string, unknown>;
    const where = binding.uri ?? binding.path ?? binding.value;
    return [binding.type, where]
      .filter(v => v !== undefined && v !== null)
      .join(' ');
  }
  return String(value);
}

function JobSteps({
  steps,
  statuses,
  trans,
  onOpen
}: {
  steps: IJobRecord[];
  statuses: StatusTable;
  trans: TranslationBundle;
  onOpen: (name: string) => void;
}): JSX.Element {
  return (
    <section className="azml-JobSteps" aria-label={trans.__('Pipeline steps')}>
      <h3 className="azml-JobDetail-subtitle">{trans.__('Steps')}</h3>
      <table className="azml-Table">
        <thead>
          <tr>
            <th>{trans.__('Step')}</th>
            <th>{trans.__('Status')}</th>
            <th>{trans.__('Duration')}</th>
          </tr>
        </thead>
        <tbody>
          {steps.map(step => (
            <tr
              key={step.name}
              className="azml-JobStep"
              data-job-name={step.name}
            >
              <td>
                <button
                  type="button"
                  className="azml-LinkButton"
                  title={trans.__('Open step %1', step.name)}
                  onClick={() => onOpen(step.name)}
                >
                  {step.step_name || step.display_name || step.name}
                </button>
              </td>
              <td>
                <StatusBadge status={step.status} statuses={statuses} />
              </td>
              <td>{formatDuration(jobDuration(step, Date.now()))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** What the `default` output holds (every job has one; users asked what it was). */
export function defaultOutputText(trans: TranslationBundle): string {
  return trans.__(
    "Azure ML's default artifacts output: what the job wrote to ./outputs and ./logs, and its log user_logs/std_log.txt."
  );
}

/** Per output: file count and size. */
export function summariseOutputs(files: readonly IOutputFile[]): {
  output: string;
  files: number;
  bytes: number;
}[] {
  const byOutput = new Map<string, { files: number; bytes: number }>();
  for (const file of files) {
    const entry = byOutput.get(file.output) ?? { files: 0, bytes: 0 };
    entry.files += 1;
    entry.bytes += file.size_bytes;
    byOutput.set(file.output, entry);
  }
  return [...byOutput.entries()].map(([output, entry]) => ({
    output,
    ...entry
  }));
}

function JobOutputs({
  name,
  terminal,
  status,
  trans,
  onDownload
}: {
  name: string;
  terminal: boolean;
  status: string;
  trans: TranslationBundle;
  onDownload: () => void;
}): JSX.Element {
  const [files, setFiles] = useState<IOutputFile[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Fetched when the tab opens and again when the status changes (outputs appear at the end).
  useEffect(() => {
    let current = true;
    listOutputs(name).then(
      result => current && (setFiles(result), setError(null)),
      failure => current && setError(errorMessage(failure))
    );
    return () => {
      current = false;
    };
  }, [name, status]);

  const summary = summariseOutputs(files ?? []);
  return (
    <section className="azml-JobOutputs" aria-label={trans.__('Outputs')}>
      <div className="azml-JobOutputs-header">
        <h3 className="azml-JobDetail-subtitle">{trans.__('Outputs')}</h3>
        <IconButton
          icon={downloadIcon}
          className="azml-JobOutputs-download"
          title={trans.__('Download outputs to a folder…')}
          label={trans.__('Download to folder…')}
          disabled={!files || files.length === 0}
          onClick={onDownload}
        />
      </div>
      <ErrorMessage message={error} />
      {files && files.length === 0 && (
        <p className="azml-Muted">
          {terminal
            ? trans.__('No output files.')
            : trans.__('Outputs appear when the job ends.')}
        </p>
      )}
      {summary.length > 0 && (
        <ul className="azml-JobOutputs-list">
          {summary.map(entry => (
            <li
              key={entry.output}
              data-output={entry.output}
              title={
                entry.output === DEFAULT_OUTPUT
                  ? defaultOutputText(trans)
                  : undefined
              }
            >
              <span className="azml-JobOutputs-name">{entry.output}</span>
              <span className="azml-Muted">
                {trans._n(
                  '%1 file, %2',
                  '%1 files, %2',
                  entry.files,
                  formatBytes(entry.bytes)
                )}
              </span>
              {entry.output === DEFAULT_OUTPUT && (
                <span className="azml-Muted azml-JobOutputs-about">
                  {trans.__('./outputs, ./logs and the job log')}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
