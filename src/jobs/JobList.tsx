import { TranslationBundle } from '@jupyterlab/translation';
import {
  caretLeftIcon,
  caretRightIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import React, { memo, useCallback } from 'react';

import { ErrorMessage, IconButton, Section, useNow } from '../components';
import {
  formatDuration,
  formatFullTime,
  formatStart,
  jobDuration
} from '../format';
import { AzmlModel, PAGE_SIZES, useModel } from '../model';
import { StatusTable } from '../statuses';
import { IJobRecord } from './api';
import { StatusBadge } from './StatusBadge';

/**
 * The live job list: status filter, pages (server cursors), one row per job.
 * Rows are buttons (Enter opens the job); Up and Down move between them.
 */
export function JobList(props: {
  model: AzmlModel;
  trans: TranslationBundle;
  onOpen: (name: string) => void;
}): JSX.Element {
  const { model, trans, onOpen } = props;
  const jobs = useModel(model, s => s.jobs);
  const statuses = useModel(model, s => s.statuses);
  const statusesError = useModel(model, s => s.statusesError);
  const highlight = useModel(model, s => s.highlight);
  const anyRunning = jobs.page.some(
    job => job.started_at && !job.ended_at && !statuses.isTerminal(job.status)
  );
  // One clock for the whole list, ticking only while a listed job runs.
  const now = useNow(1000, anyRunning);

  const onKeyDown = useCallback((event: React.KeyboardEvent) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') {
      return;
    }
    const rows = Array.from(
      (event.currentTarget as HTMLElement).querySelectorAll<HTMLElement>(
        '.azml-JobRow'
      )
    );
    const index = rows.indexOf(document.activeElement as HTMLElement);
    const next = index + (event.key === 'ArrowDown' ? 1 : -1);
    if (next >= 0 && next < rows.length) {
      rows[next].focus();
      event.preventDefault();
    }
  }, []);

  const pageNumber = jobs.cursors.length;
  return (
    <Section
      id="jobs"
      title={trans.__('Jobs')}
      className="azml-Jobs"
      actions={
        <IconButton
          icon={refreshIcon}
          title={trans.__('Refresh the job list')}
          onClick={() =>
            void model.refreshJobs({ user: true }).catch(() => false)
          }
        />
      }
    >
      <div className="azml-JobList-toolbar">
        <label className="azml-Field-inline">
          <span>{trans.__('Status')}</span>
          <select
            className="jp-mod-styled azml-JobList-filter"
            value={jobs.filter}
            onChange={event => void model.setJobFilter(event.target.value)}
          >
            <option value="all">{trans.__('All')}</option>
            <option value="active">{trans.__('Active (not ended)')}</option>
            {statuses.names().map(name => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorMessage message={statusesError} />
      <ErrorMessage message={jobs.error} />
      {jobs.loading && jobs.page.length === 0 && (
        <p className="azml-Muted">{trans.__('Loading…')}</p>
      )}
      {!jobs.loading && !jobs.error && jobs.page.length === 0 && (
        <p className="azml-Muted azml-JobList-empty">
          {jobs.filter === 'all'
            ? trans.__(
                'No jobs yet. Right-click a job YAML file in the file browser, or submit cells from a notebook.'
              )
            : trans.__('No jobs with this status.')}
        </p>
      )}
      <ul
        className="azml-JobList"
        aria-label={trans.__('Jobs')}
        aria-busy={jobs.loading}
        onKeyDown={onKeyDown}
      >
        {jobs.page.map(job => (
          <JobRow
            key={job.name}
            job={job}
            statuses={statuses}
            // Ended rows get a fixed clock, so memo skips them on every tick.
            now={job.ended_at || !job.started_at ? 0 : now}
            isNew={job.name === highlight}
            onOpen={onOpen}
          />
        ))}
      </ul>
      <div className="azml-Pager">
        <IconButton
          icon={caretLeftIcon}
          className="azml-Pager-previous"
          title={trans.__('Newer jobs')}
          disabled={pageNumber <= 1 || jobs.loading}
          onClick={() => void model.previousPage()}
        />
        <span className="azml-Pager-page">
          {trans.__('Page %1', pageNumber)}
        </span>
        <IconButton
          icon={caretRightIcon}
          className="azml-Pager-next"
          title={trans.__('Older jobs')}
          disabled={!jobs.nextCursor || jobs.loading}
          onClick={() => void model.nextPage()}
        />
        <select
          className="jp-mod-styled azml-Pager-size"
          aria-label={trans.__('Jobs per page')}
          title={trans.__('Jobs per page')}
          value={jobs.pageSize}
          onChange={event => void model.setPageSize(Number(event.target.value))}
        >
          {PAGE_SIZES.map(size => (
            <option key={size} value={size}>
              {trans.__('%1 / page', size)}
            </option>
          ))}
        </select>
      </div>
    </Section>
  );
}

/** One job: badge and name, then compute, start time and duration. */
export const JobRow = memo(function JobRow(props: {
  job: IJobRecord;
  statuses: StatusTable;
  now: number;
  isNew?: boolean;
  onOpen: (name: string) => void;
}): JSX.Element {
  const { job, statuses, now, isNew, onOpen } = props;
  const title = job.display_name || job.name;
  const duration = jobDuration(job, now || Date.now());
  return (
    <li className="azml-JobList-item">
      <button
        type="button"
        className={isNew ? 'azml-JobRow azml-mod-new' : 'azml-JobRow'}
        aria-current={isNew ? 'true' : undefined}
        data-job-name={job.name}
        data-status={job.status}
        title={rowTooltip(job)}
        onClick={() => onOpen(job.name)}
      >
        <span className="azml-JobRow-main">
          <StatusBadge status={job.status} statuses={statuses} />
          <span className="azml-JobRow-name">{title}</span>
        </span>
        <span className="azml-JobRow-meta">
          <span className="azml-JobRow-compute">{job.compute ?? '–'}</span>
          <span
            className="azml-JobRow-started"
            title={formatFullTime(job.started_at)}
          >
            {formatStart(job.started_at ?? job.created_at, now || Date.now())}
          </span>
          <span className="azml-JobRow-duration">
            {formatDuration(duration)}
          </span>
        </span>
      </button>
    </li>
  );
});

function rowTooltip(job: IJobRecord): string {
  const lines = [job.name];
  if (job.experiment_name) {
    lines.push(`Experiment: ${job.experiment_name}`);
  }
  if (job.error) {
    lines.push(job.error);
  }
  return lines.join('\n');
}
