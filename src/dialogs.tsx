import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import React, { useContext, useState } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, Root } from 'react-dom/client';

import { ErrorMessage } from './components';
import { AzmlApiError, errorMessage } from './request';

/**
 * Forms in JupyterLab dialogs. The dialog keeps JupyterLab's keyboard rules
 * (Enter accepts, Escape cancels, focus stays inside). A value that does not
 * validate, or that the server refuses (`submit`), reopens the dialog with
 * the values kept, the problem beside its field and the focus in that field:
 * the user's input is never lost.
 */

export type FormRender<T> = (
  value: T,
  set: (patch: Partial<T>) => void
) => JSX.Element;

/** What is wrong with a form. */
export interface IFormProblem {
  message: string;
  /** The `Field` (its `name`) the message is shown beside; none: above the form. */
  field?: string;
  /** A line above the form, e.g. "Could not create compute x". */
  heading?: string;
}

export type FormProblem = string | IFormProblem | null;

function asProblem(problem: FormProblem): IFormProblem | null {
  return typeof problem === 'string' ? { message: problem } : problem;
}

/** The problem of the form being shown, for its `Field`s. */
const ProblemContext = React.createContext<IFormProblem | null>(null);

function FormHost<T>(props: {
  initial: T;
  render: FormRender<T>;
  onChange: (value: T) => void;
  problem: IFormProblem | null;
}): JSX.Element {
  const [value, setValue] = useState(props.initial);
  const set = (patch: Partial<T>) => {
    setValue(previous => {
      const next = { ...previous, ...patch };
      props.onChange(next);
      return next;
    });
  };
  const { problem } = props;
  let top: string | null = null;
  if (problem) {
    top = problem.field
      ? (problem.heading ?? null)
      : problem.heading
        ? `${problem.heading}: ${problem.message}`
        : problem.message;
  }
  return (
    <div className="azml-Form">
      <ErrorMessage message={top} />
      <ProblemContext.Provider value={problem}>
        {props.render(value, set)}
      </ProblemContext.Provider>
    </div>
  );
}

/**
 * A dialog body holding the form's current value (`getValue`).
 *
 * A plain Widget that renders its React form synchronously when built (not a
 * ReactWidget, which renders later): so the form's fields exist when the
 * Dialog attaches, and the Dialog focuses `focusNodeSelector` at once,
 * instead of moving the focus after an idle callback while the user (or a
 * test) may already be typing in another field.
 */
export class FormBody<T> extends Widget implements Dialog.IBodyWidget<T> {
  constructor(
    initial: T,
    renderForm: FormRender<T>,
    problem: IFormProblem | null = null
  ) {
    super();
    this.value = initial;
    this.addClass('azml-FormBody');
    this._root = createRoot(this.node);
    flushSync(() =>
      this._root.render(
        <FormHost
          initial={initial}
          render={renderForm}
          onChange={value => (this.value = value)}
          problem={problem}
        />
      )
    );
  }

  value: T;

  getValue(): T {
    return this.value;
  }

  dispose(): void {
    if (!this.isDisposed) {
      this._root.unmount();
    }
    super.dispose();
  }

  private _root: Root;
}

export interface IFormDialogOptions<T> {
  title: string;
  initial: T;
  render: FormRender<T>;
  okLabel: string;
  /** What is wrong with the value, null when it can be used. */
  validate?: (value: T) => FormProblem;
  /**
   * Act on a valid value (the server call) before the dialog is done; a
   * problem (the server's refusal) reopens the dialog with it.
   */
  submit?: (value: T) => Promise<FormProblem>;
  /** CSS selector of the element to focus first. */
  focus?: string;
}

/** Show a form; resolves with its (submitted) value, or null when cancelled. */
export async function showFormDialog<T>(
  options: IFormDialogOptions<T>
): Promise<T | null> {
  let value = options.initial;
  let problem: IFormProblem | null = null;
  for (;;) {
    const result = await showDialog<T>({
      title: options.title,
      body: new FormBody<T>(value, options.render, problem),
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: options.okLabel })
      ],
      focusNodeSelector: problem?.field
        ? ['input', 'select', 'textarea']
            .map(tag => `.azml-Field[data-field="${problem!.field}"] ${tag}`)
            .join(', ')
        : (options.focus ?? 'input, select, textarea')
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    value = result.value;
    problem = asProblem(options.validate?.(value) ?? null);
    if (!problem && options.submit) {
      problem = asProblem(await options.submit(value));
    }
    if (!problem) {
      return value;
    }
  }
}

/**
 * A server refusal as a form problem: beside the field the server names
 * (`details.field`, or `details.kind` for a refused name) when the form has
 * it (`fields` maps the server's names to the form's), above the form otherwise.
 */
export function serverProblem(
  error: unknown,
  heading: string,
  fields: Record<string, string>
): IFormProblem {
  const details =
    error instanceof AzmlApiError &&
    typeof error.details === 'object' &&
    error.details !== null
      ? (error.details as { field?: unknown; kind?: unknown })
      : {};
  const named = [details.field, details.kind].find(
    key => typeof key === 'string' && key in fields
  ) as string | undefined;
  return {
    message: errorMessage(error),
    heading,
    field: named ? fields[named] : undefined
  };
}

/** A labelled form row; `name` lets a problem be shown beside it. */
export function Field(props: {
  label: string;
  name?: string;
  hint?: string;
  children: React.ReactNode;
}): JSX.Element {
  const problem = useContext(ProblemContext);
  const error =
    props.name && problem?.field === props.name ? problem.message : null;
  return (
    <label
      className={error ? 'azml-Field azml-mod-invalid' : 'azml-Field'}
      data-field={props.name}
    >
      <span className="azml-Field-label">{props.label}</span>
      {props.children}
      {error && (
        <span className="azml-Field-error" role="alert">
          {error}
        </span>
      )}
      {props.hint && <span className="azml-Field-hint">{props.hint}</span>}
    </label>
  );
}

/**
 * `name=value` lines (blank lines and `#` comments skipped) into an object.
 * Used by the submit dialogs for inputs and parameters.
 *
 * @throws Error naming the first malformed line.
 */
export function parseRows(text: string, what: string): Record<string, string> {
  const rows: Record<string, string> = {};
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) {
      return;
    }
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || eq === line.length - 1) {
      throw new Error(
        `${what}, line ${index + 1}: expected name=value with a Python identifier as the name, got "${line}".`
      );
    }
    if (name in rows) {
      throw new Error(`${what}, line ${index + 1}: "${name}" is given twice.`);
    }
    rows[name] = line.slice(eq + 1).trim();
  });
  return rows;
}

/** One name per line (or separated by commas): output names. */
export function parseNames(text: string, what: string): string[] {
  const names = text
    .split(/[\n,]/)
    .map(name => name.trim())
    .filter(name => name.length > 0);
  for (const name of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(
        `${what}: "${name}" is not a valid name (a Python identifier).`
      );
    }
  }
  if (new Set(names).size !== names.length) {
    throw new Error(`${what}: a name is given twice.`);
  }
  return names;
}

/**
 * A parameter's text as the value a notebook parameter gets: JSON numbers,
 * booleans, null, lists and objects as such; anything else as the string.
 */
export function parameterValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
