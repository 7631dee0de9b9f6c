import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { IComputeInfo } from '../computes/api';
import {
  Field,
  parameterValue,
  parseNames,
  parseRows,
  showFormDialog
} from '../dialogs';

/** What "Submit selected cells" and "Submit notebook" ask for. */
export interface ISubmitForm {
  compute: string;
  environment: string;
  experiment: string;
  displayName: string;
  /** Cells: `name=path` lines (data inputs). */
  inputs: string;
  /** Cells: output folder names. */
  outputs: string;
  /** Notebook: `name=value` lines (papermill parameters). */
  parameters: string;
}

/** The parsed form, ready for the kernel call or the REST body. */
export interface ISubmitChoices {
  compute: string | null;
  environment: string | null;
  experimentName: string | null;
  displayName: string | null;
  inputs: Record<string, string>;
  outputs: string[];
  parameters: Record<string, unknown>;
}

export type SubmitKind = 'cells' | 'notebook';

/** @throws Error with the message to show when a field cannot be read. */
export function submitChoices(form: ISubmitForm): ISubmitChoices {
  const text = (value: string) => (value.trim() ? value.trim() : null);
  const parameters: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(
    parseRows(form.parameters, 'Parameters')
  )) {
    parameters[key] = parameterValue(value);
  }
  return {
    compute: text(form.compute),
    environment: text(form.environment),
    experimentName: text(form.experiment),
    displayName: text(form.displayName),
    inputs: parseRows(form.inputs, 'Inputs'),
    outputs: parseNames(form.outputs, 'Outputs'),
    parameters
  };
}

export function validateSubmit(form: ISubmitForm): string | null {
  try {
    submitChoices(form);
  } catch (error) {
    return (error as Error).message;
  }
  if (
    form.experiment.trim() &&
    !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(form.experiment.trim())
  ) {
    return 'The experiment name must be letters, digits, "_", "." or "-".';
  }
  return null;
}

/**
 * The submit dialog. `computes` fills the compute list (the server's default
 * is the first entry); `what` is shown in the title.
 */
export async function showSubmitDialog(options: {
  kind: SubmitKind;
  what: string;
  computes: readonly IComputeInfo[];
  defaultExperiment: string;
  trans: TranslationBundle;
}): Promise<ISubmitChoices | null> {
  const { kind, what, computes, defaultExperiment, trans } = options;
  const form = await showFormDialog<ISubmitForm>({
    title:
      kind === 'cells'
        ? trans.__('Submit %1 as an Azure ML job', what)
        : trans.__('Submit notebook %1 as an Azure ML job', what),
    initial: {
      compute: '',
      environment: '',
      experiment: '',
      displayName: '',
      inputs: '',
      outputs: '',
      parameters: ''
    },
    okLabel: trans.__('Submit'),
    validate: validateSubmit,
    render: (value, set) => (
      <div className="azml-SubmitForm" data-kind={kind}>
        <Field label={trans.__('Compute')}>
          <select
            className="jp-mod-styled azml-Submit-compute"
            value={value.compute}
            onChange={e => set({ compute: e.target.value })}
          >
            <option value="">
              {trans.__('Default (the job spec or the workspace default)')}
            </option>
            {computes.map(compute => (
              <option key={compute.name} value={compute.name}>
                {compute.name}
                {compute.size
                  ? ` (${compute.size}, ${compute.max_nodes} nodes)`
                  : ''}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label={trans.__('Environment')}
          hint={
            kind === 'cells'
              ? trans.__(
                  "Empty: captured from the kernel's packages (conda spec)."
                )
              : trans.__("Empty: captured from the notebook's imports.")
          }
        >
          <input
            className="jp-mod-styled azml-Submit-environment"
            value={value.environment}
            placeholder="azureml:name:version"
            onChange={e => set({ environment: e.target.value })}
          />
        </Field>
        <Field label={trans.__('Experiment')}>
          <input
            className="jp-mod-styled azml-Submit-experiment"
            value={value.experiment}
            placeholder={defaultExperiment}
            onChange={e => set({ experiment: e.target.value })}
          />
        </Field>
        <Field label={trans.__('Display name')}>
          <input
            className="jp-mod-styled azml-Submit-displayName"
            value={value.displayName}
            onChange={e => set({ displayName: e.target.value })}
          />
        </Field>
        {kind === 'cells' ? (
          <>
            <Field
              label={trans.__('Inputs')}
              hint={trans.__(
                'One per line: name=path (relative to the notebook) or name=azureml:asset:version. The variable "name" holds the path in the job.'
              )}
            >
              <textarea
                className="jp-mod-styled azml-Submit-inputs"
                rows={2}
                value={value.inputs}
                placeholder="data=./data.csv"
                onChange={e => set({ inputs: e.target.value })}
              />
            </Field>
            <Field
              label={trans.__('Outputs')}
              hint={trans.__(
                'Output folder names, one per line; the variable of that name holds its path.'
              )}
            >
              <textarea
                className="jp-mod-styled azml-Submit-outputs"
                rows={2}
                value={value.outputs}
                placeholder="plots"
                onChange={e => set({ outputs: e.target.value })}
              />
            </Field>
          </>
        ) : (
          <Field
            label={trans.__('Parameters')}
            hint={trans.__(
              'One per line: name=value, injected after the cell tagged "parameters" (numbers and true/false as such).'
            )}
          >
            <textarea
              className="jp-mod-styled azml-Submit-parameters"
              rows={3}
              value={value.parameters}
              placeholder="rows=5000"
              onChange={e => set({ parameters: e.target.value })}
            />
          </Field>
        )}
      </div>
    )
  });
  return form ? submitChoices(form) : null;
}
