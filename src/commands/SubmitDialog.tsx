import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { IComputeInfo } from '../computes/api';
import {
  Field,
  IFormProblem,
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

/** The first problem of the form, beside its field. */
export function validateSubmit(form: ISubmitForm): IFormProblem | null {
  const parsers: [keyof ISubmitForm, () => unknown][] = [
    ['inputs', () => parseRows(form.inputs, 'Inputs')],
    ['outputs', () => parseNames(form.outputs, 'Outputs')],
    ['parameters', () => parseRows(form.parameters, 'Parameters')]
  ];
  for (const [field, parse] of parsers) {
    try {
      parse();
    } catch (error) {
      return { field, message: (error as Error).message };
    }
  }
  if (
    form.experiment.trim() &&
    !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(form.experiment.trim())
  ) {
    return {
      field: 'experiment',
      message: 'The experiment name must be letters, digits, "_", "." or "-".'
    };
  }
  return null;
}

export interface ISubmitFormProps {
  kind: SubmitKind;
  computes: readonly IComputeInfo[];
  defaultExperiment: string;
  /** Notebook: whether a code cell is tagged `parameters` (papermill's rule). */
  hasParametersCell?: boolean;
  trans: TranslationBundle;
}

/**
 * The form's fields, two to a row so the dialog fits JupyterLab's dialog
 * height (500 px) without scrolling.
 */
export function SubmitForm(
  props: ISubmitFormProps & {
    value: ISubmitForm;
    set: (patch: Partial<ISubmitForm>) => void;
  }
): JSX.Element {
  const { kind, computes, defaultExperiment, trans, value, set } = props;
  return (
    <div className="azml-SubmitForm" data-kind={kind}>
      <div className="azml-Field-row">
        <Field label={trans.__('Compute')} name="compute">
          <select
            className="jp-mod-styled azml-Submit-compute"
            value={value.compute}
            onChange={e => set({ compute: e.target.value })}
          >
            <option value="">
              {trans.__('Default (job spec or workspace)')}
            </option>
            {computes.map(compute => (
              <option key={compute.name} value={compute.name}>
                {compute.name}
                {compute.size
                  ? ` (${compute.size}, ${trans._n('%1 node', '%1 nodes', compute.max_nodes)})`
                  : ''}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label={trans.__('Environment')}
          name="environment"
          hint={
            kind === 'cells'
              ? trans.__("Empty: the kernel's packages (conda spec).")
              : trans.__("Empty: from the notebook's imports.")
          }
        >
          <input
            className="jp-mod-styled azml-Submit-environment"
            value={value.environment}
            placeholder="azureml:name:version"
            onChange={e => set({ environment: e.target.value })}
          />
        </Field>
      </div>
      <div className="azml-Field-row">
        <Field label={trans.__('Experiment')} name="experiment">
          <input
            className="jp-mod-styled azml-Submit-experiment"
            value={value.experiment}
            placeholder={defaultExperiment}
            onChange={e => set({ experiment: e.target.value })}
          />
        </Field>
        <Field label={trans.__('Display name')} name="displayName">
          <input
            className="jp-mod-styled azml-Submit-displayName"
            value={value.displayName}
            onChange={e => set({ displayName: e.target.value })}
          />
        </Field>
      </div>
      {kind === 'cells' ? (
        <div className="azml-Field-row">
          <Field
            label={trans.__('Inputs')}
            name="inputs"
            hint={trans.__(
              'One per line: name=path (relative to the notebook) or name=azureml:asset:version; the variable holds the path.'
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
            name="outputs"
            hint={trans.__(
              'Folder names, one per line; the variable of that name holds its path.'
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
        </div>
      ) : (
        <Field
          label={trans.__('Parameters')}
          name="parameters"
          hint={trans.__(
            'One per line: name=value (numbers, true/false and [lists] as such; anything else a string).'
          )}
        >
          <textarea
            className="jp-mod-styled azml-Submit-parameters"
            rows={3}
            value={value.parameters}
            placeholder="rows=5000"
            onChange={e => set({ parameters: e.target.value })}
          />
          {props.hasParametersCell === false && (
            <span className="azml-Field-warning azml-Submit-parametersWarning">
              {trans.__(
                "This notebook has no cell tagged 'parameters': papermill puts these values in a new cell before the first one and warns \"Passed unknown parameter\"; a cell that sets the same names later overwrites them. Tag the cell that sets the defaults 'parameters' (Property Inspector, Cell Tags)."
              )}
            </span>
          )}
        </Field>
      )}
    </div>
  );
}

/**
 * The submit dialog. `computes` fills the compute list (the server's default
 * is the first entry); `what` is shown in the title.
 */
export async function showSubmitDialog(
  options: ISubmitFormProps & { what: string }
): Promise<ISubmitChoices | null> {
  const { kind, what, trans } = options;
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
    render: (value, set) => <SubmitForm {...options} value={value} set={set} />
  });
  return form ? submitChoices(form) : null;
}
