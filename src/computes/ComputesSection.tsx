import { TranslationBundle } from '@jupyterlab/translation';
import { addIcon, editIcon, refreshIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { ErrorMessage, IconButton, Section } from '../components';
import { AzmlModel, useModel } from '../model';
import { OperationRow } from '../OperationRow';
import { IComputeInfo } from './api';

/**
 * The workspace's clusters: name, VM size, nodes (current / max), state, and
 * create / resize (a dialog, opened through the `onEdit` command).
 */
export function ComputesSection(props: {
  model: AzmlModel;
  trans: TranslationBundle;
  /** Open the create (no name) or resize dialog. */
  onEdit: (name?: string) => void;
}): JSX.Element {
  const { model, trans, onEdit } = props;
  const computes = useModel(model, s => s.computes);
  const operations = useModel(model, s => s.operations).filter(
    op => op.kind === 'compute_update'
  );
  const list = computes.value ?? [];
  return (
    <Section
      id="computes"
      title={trans.__('Computes')}
      count={computes.value ? list.length : null}
      className="azml-Computes"
      actions={
        <>
          <IconButton
            icon={addIcon}
            title={trans.__('New cluster…')}
            onClick={() => onEdit()}
          />
          <IconButton
            icon={refreshIcon}
            title={trans.__('Refresh computes')}
            onClick={() => void model.refreshComputes({ user: true })}
          />
        </>
      }
    >
      <ErrorMessage message={computes.error} />
      {computes.loading && !computes.value && (
        <p className="azml-Muted">{trans.__('Loading…')}</p>
      )}
      {computes.value && list.length === 0 && (
        <p className="azml-Muted">{trans.__('No compute clusters.')}</p>
      )}
      {operations.map(op => (
        <OperationRow key={op.id} operation={op} model={model} trans={trans} />
      ))}
      {list.length > 0 && (
        <ul className="azml-ComputeList" aria-label={trans.__('Computes')}>
          {list.map(compute => (
            <ComputeRow
              key={compute.name}
              compute={compute}
              trans={trans}
              onEdit={onEdit}
            />
          ))}
        </ul>
      )}
    </Section>
  );
}

/**
 * One cluster on two lines — name, state and the pencil; then VM size and
 * nodes — so it fits the default sidebar width (about 250 px) with Azure's
 * long names and sizes; a long word wraps instead of widening the panel.
 */
function ComputeRow({
  compute,
  trans,
  onEdit
}: {
  compute: IComputeInfo;
  trans: TranslationBundle;
  onEdit: (name?: string) => void;
}): JSX.Element {
  const queued = compute.queued_jobs
    ? trans.__(', %1 queued', compute.queued_jobs)
    : '';
  return (
    <li className="azml-ComputeRow" data-compute={compute.name}>
      <span
        className="azml-ComputeRow-name"
        title={`${compute.name} (${compute.type})`}
      >
        {compute.name}
      </span>
      <span
        className="azml-ComputeRow-state"
        data-state={compute.state ?? undefined}
        title={trans.__('Provisioning state')}
      >
        {compute.state ?? '–'}
      </span>
      <IconButton
        icon={editIcon}
        className="azml-ComputeRow-edit"
        title={trans.__('Resize %1…', compute.name)}
        onClick={() => onEdit(compute.name)}
      />
      <span className="azml-ComputeRow-details">
        <span className="azml-ComputeRow-size" title={trans.__('VM size')}>
          {compute.size ?? '–'}
        </span>
        <span
          title={trans.__(
            '%1 in use, %2 at least, %3 at most%4',
            compute.current_nodes,
            compute.min_nodes,
            compute.max_nodes,
            queued
          )}
        >
          <span className="azml-ComputeRow-nodes">
            {compute.current_nodes} / {compute.max_nodes}
          </span>{' '}
          {trans._n('node', 'nodes', compute.max_nodes)}
        </span>
      </span>
    </li>
  );
}
