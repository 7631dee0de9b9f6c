import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import React, { useState } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, Root } from 'react-dom/client';

import { ErrorMessage } from './components';

/**
 * Forms in JupyterLab dialogs. The dialog keeps JupyterLab's keyboard rules
 * (Enter accepts, Escape cancels, focus stays inside); a value that does not
 * validate reopens the dialog with the values kept and the problem shown.
 */

export type FormRender<T> = (
  value: T,
  set: (patch: Partial<T>) => void
) => JSX.Element;

function FormHost<T>(props: {
  initial: T;
  render: FormRender<T>;
  onChange: (value: T) => void;
  problem: string | null;
}): JSX.Element {
  const [value, setValue] = useState(props.initial);
  const set = (patch: Partial<T>) => {
    setValue(previous => {
      const next = { ...previous, ...patch };
      props.onChange(next);
      return next;
    });
  };
  return (
    <div className="azml-Form">
      <ErrorMessage message={props.problem} />
      {props.render(value, set)}
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
    problem: string | null = null
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
  /** A message when the value cannot be used, null when it can. */
  validate?: (value: T) => string | null;
  /** CSS selector of the element to focus first. */
  focus?: string;
}

/** Show a form; resolves with its value, or null when cancelled. */
export async function showFormDialog<T>(
  options: IFormDialogOptions<T>
): Promise<T | null> {
  let value = options.initial;
  let problem: string | null = null;
  for (;;) {
    const result = await showDialog<T>({
      title: options.title,
      body: new FormBody<T>(value, options.render, problem),
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: options.okLabel })
      ],
      focusNodeSelector: options.focus ?? 'input, select, textarea'
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    value = result.value;
    problem = options.validate?.(value) ?? null;
    if (!problem) {
      return value;
    }
  }
}

/** A labelled form row. */
export function Field(props: {
  label: string;
  hint?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <label className="azml-Field">
      <span className="azml-Field-label">{props.label}</span>
      {props.children}
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
