import { TranslationBundle } from '@jupyterlab/translation';
import { closeIcon, stopIcon } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { ErrorMessage, IconButton, ProgressBar } from './components';
import { formatBytes, formatDuration, formatRate } from './format';
import { AzmlModel } from './model';
import { IOperation } from './operations';
import { errorMessage } from './request';

/** What a copy-in created, from its result (`result.data_asset`). */
function resultText(
  operation: IOperation,
  trans: TranslationBundle
): string | null {
  const asset = operation.result?.data_asset;
  if (asset?.name && asset?.version) {
    return operation.result?.created === false
      ? trans.__(
          'Unchanged: azureml:%1:%2 already holds this content',
          asset.name,
          asset.version
        )
      : trans.__('Created azureml:%1:%2', asset.name, asset.version);
  }
  const compute = operation.result?.compute;
  if (compute?.name) {
    return trans.__('Cluster %1 updated', compute.name);
  }
  return null;
}

/**
 * A long operation (copy-in, cluster update) started from this page: a live
 * progress bar with bytes, files and rate, Cancel while it runs, its outcome
 * and a close button afterwards.
 */
export function OperationRow(props: {
  operation: IOperation;
  model: AzmlModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { operation: op, model, trans } = props;
  const [actionError, setActionError] = useState<string | null>(null);
  const running = op.state === 'Running';
  const fraction =
    op.bytes_total && op.bytes_total > 0
      ? op.bytes_done / op.bytes_total
      : op.files_total && op.files_total > 0
        ? op.files_done / op.files_total
        : null;
  const parts: string[] = [];
  if (op.kind === 'copy_in' || op.bytes_total !== null || op.bytes_done > 0) {
    parts.push(
      op.bytes_total !== null
        ? trans.__(
            '%1 of %2',
            formatBytes(op.bytes_done),
            formatBytes(op.bytes_total)
          )
        : formatBytes(op.bytes_done)
    );
    parts.push(
      op.files_total !== null
        ? trans._n(
            '%2 of %1 file',
            '%2 of %1 files',
            op.files_total,
            op.files_done
          )
        : trans._n('%1 file', '%1 files', op.files_done)
    );
    if (running && op.rate_bytes_per_second !== null) {
      parts.push(formatRate(op.rate_bytes_per_second));
    }
    if (running && op.eta_seconds !== null) {
      parts.push(trans.__('%1 left', formatDuration(op.eta_seconds * 1000)));
    }
    if (op.bytes_skipped > 0) {
      // Content the datastore already holds (same hash) is deduplicated: say so.
      parts.push(
        trans.__(
          '%1 already in the workspace (identical content), not copied again',
          formatBytes(op.bytes_skipped)
        )
      );
    }
  }
  const outcome = op.state === 'Succeeded' ? resultText(op, trans) : null;

  // bytes_done and files_done count what was already stored (the *_skipped part) too.
  const cancel = async () => {
    setActionError(null);
    try {
      await model.cancelOperation(op.id);
    } catch (error) {
      setActionError(errorMessage(error));
    }
  };

  return (
    <div
      className="azml-Operation"
      data-operation-id={op.id}
      data-kind={op.kind}
      data-state={op.state}
    >
      <div className="azml-Operation-header">
        <span
          className="azml-Operation-description"
          title={
            op.current_item
              ? `${op.description}\n${op.current_item}`
              : op.description || op.kind
          }
        >
          {op.description || op.kind}
        </span>
        <span className="azml-Operation-state">{stateLabel(op, trans)}</span>
        {running ? (
          <IconButton
            icon={stopIcon}
            className="azml-Operation-cancel"
            title={trans.__('Cancel')}
            label={trans.__('Cancel')}
            onClick={() => void cancel()}
          />
        ) : (
          <IconButton
            icon={closeIcon}
            className="azml-Operation-dismiss"
            title={trans.__('Dismiss')}
            onClick={() => model.dismissOperation(op.id)}
          />
        )}
      </div>
      {running && <ProgressBar fraction={fraction} label={op.description} />}
      {parts.length > 0 && (
        <div className="azml-Operation-progress">{parts.join(' · ')}</div>
      )}
      {outcome && <div className="azml-Operation-result">{outcome}</div>}
      <ErrorMessage
        message={
          op.state === 'Failed' ? (op.error ?? trans.__('Failed')) : null
        }
      />
      <ErrorMessage message={actionError} />
    </div>
  );
}

function stateLabel(op: IOperation, trans: TranslationBundle): string {
  switch (op.state) {
    case 'Running':
      return trans.__('Running');
    case 'Succeeded':
      return trans.__('Done');
    case 'Failed':
      return trans.__('Failed');
    case 'Canceled':
      return trans.__('Canceled');
    default:
      return op.state;
  }
}
