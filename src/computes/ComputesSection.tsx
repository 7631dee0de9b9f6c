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
        <table className="azml-Table azml-ComputeTable">
          <thead>
            <tr>
              <th>{trans.__('Name')}</th>
              <th>{trans.__('Size')}</th>
              <th title={trans.__('Nodes in use / maximum')}>
                {trans.__('Nodes')}
              </th>
              <th>{trans.__('State')}</th>
              <th>
                <span className="azml-VisuallyHidden">
                  {trans.__('Actions')}
                </span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map(compute => (
              <ComputeRow
                key={compute.name}
                compute={compute}
                trans={trans}
                onEdit={onEdit}
              />
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

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
    <tr className="azml-ComputeRow" data-compute={compute.name}>
      <td
        className="azml-ComputeRow-name"
        title={`${compute.name} (${compute.type})`}
      >
        {compute.name}
      </td>
      <td className="azml-ComputeRow-size">{compute.size ?? '–'}</td>
      <td
        className="azml-ComputeRow-nodes"
        title={trans.__(
          '%1 in use, %2 at least, %3 at most%4',
          compute.current_nodes,
          compute.min_nodes,
          compute.max_nodes,
          queued
        )}
      >
        {compute.current_nodes} / {compute.max_nodes}
      </td>
      <td className="azml-ComputeRow-state">{compute.state ?? '–'}</td>
      <td className="azml-ComputeRow-actions">
        <IconButton
          icon={editIcon}
          title={trans.__('Resize %1…', compute.name)}
          onClick={() => onEdit(compute.name)}
        />
      </td>
    </tr>
  );
}
