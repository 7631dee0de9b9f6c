import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { Field, showFormDialog } from '../dialogs';
import { DEFAULT_OUTPUT } from './api';

export interface IDownloadChoice {
  /** A folder relative to the Jupyter root. */
  path: string;
  /** `all` or one output's name. */
  output: string;
}

/** "Download to folder…": where, and which output. */
export async function showDownloadDialog(options: {
  job: string;
  outputs: string[];
  defaultPath: string;
  trans: TranslationBundle;
}): Promise<IDownloadChoice | null> {
  const { job, outputs, defaultPath, trans } = options;
  const choice = await showFormDialog<IDownloadChoice>({
    title: trans.__('Download outputs of %1', job),
    initial: { path: defaultPath, output: 'all' },
    okLabel: trans.__('Download'),
    validate: value =>
      value.path.trim()
        ? null
        : trans.__('Choose a folder (relative to the Jupyter root).'),
    focus: '.azml-Download-path',
    render: (value, set) => (
      <div className="azml-DownloadForm">
        <Field
          label={trans.__('Folder')}
          hint={trans.__(
            'Relative to the Jupyter root. Laid out like az ml job download: artifacts/ for the default output, named-outputs/<name>/ for the others.'
          )}
        >
          <input
            className="jp-mod-styled azml-Download-path"
            value={value.path}
            onChange={e => set({ path: e.target.value })}
          />
        </Field>
        <Field label={trans.__('Output')}>
          <select
            className="jp-mod-styled azml-Download-output"
            value={value.output}
            onChange={e => set({ output: e.target.value })}
          >
            <option value="all">{trans.__('All outputs')}</option>
            {outputs.map(output => (
              <option key={output} value={output}>
                {output === DEFAULT_OUTPUT
                  ? trans.__('default (./outputs, ./logs and the job log)')
                  : output}
              </option>
            ))}
          </select>
        </Field>
      </div>
    )
  });
  if (!choice) {
    return null;
  }
  return {
    path: choice.path.trim().replace(/^\/+/, ''),
    output: choice.output
  };
}
