import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { Field, IFormProblem, serverProblem, showFormDialog } from '../dialogs';
import { ICopyInRequest } from './api';

/** What the copy-in dialog edits. */
export interface ICopyInForm {
  path: string;
  name: string;
  /** `''`: let the server decide from what the path is. */
  type: '' | 'uri_file' | 'uri_folder';
  version: string;
  description: string;
}

/** Data asset names: letters, digits, `-` and `_`, starting with a letter or digit. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;

/**
 * A data asset name from a path: the last part without its extension, with
 * other characters turned into `-` (`data/Trips 2024.csv` -> `Trips-2024`).
 */
export function assetNameFor(path: string): string {
  const base = path.replace(/\/+$/, '').split('/').pop() ?? '';
  const stem =
    base.includes('.') && !base.startsWith('.')
      ? base.slice(0, base.lastIndexOf('.'))
      : base;
  return stem
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 255);
}

export function validateCopyIn(form: ICopyInForm): IFormProblem | null {
  if (!form.path.trim()) {
    return {
      field: 'path',
      message:
        'The file or folder is required (a path relative to the Jupyter root).'
    };
  }
  if (!form.name.trim()) {
    return { field: 'name', message: 'The data asset name is required.' };
  }
  if (!ASSET_NAME.test(form.name.trim())) {
    return {
      field: 'name',
      message:
        'The data asset name must be letters, digits, "-" or "_", starting with a letter or digit.'
    };
  }
  if (
    form.version.trim() &&
    !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(form.version.trim())
  ) {
    return {
      field: 'version',
      message:
        'The version must be letters, digits, ".", "-" or "_" (or empty for the next number).'
    };
  }
  return null;
}

export function copyInRequest(form: ICopyInForm): ICopyInRequest {
  const request: ICopyInRequest = {
    path: form.path.trim(),
    name: form.name.trim()
  };
  if (form.type) {
    request.type = form.type;
  }
  if (form.version.trim()) {
    request.version = form.version.trim();
  }
  if (form.description.trim()) {
    request.description = form.description.trim();
  }
  return request;
}

export function CopyInForm(props: {
  value: ICopyInForm;
  set: (patch: Partial<ICopyInForm>) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { value, set, trans } = props;
  return (
    <div className="azml-CopyInForm">
      <Field
        label={trans.__('File or folder')}
        name="path"
        hint={trans.__(
          'Relative to the Jupyter root, as the file browser shows it.'
        )}
      >
        <input
          className="jp-mod-styled azml-CopyIn-path"
          name="path"
          value={value.path}
          onChange={e => set({ path: e.target.value })}
        />
      </Field>
      <Field label={trans.__('Data asset name')} name="name">
        <input
          className="jp-mod-styled azml-CopyIn-name"
          name="name"
          value={value.name}
          onChange={e => set({ name: e.target.value })}
        />
      </Field>
      <Field
        label={trans.__('Version')}
        name="version"
        hint={trans.__(
          'Empty: the next number. Unchanged content keeps its version.'
        )}
      >
        <input
          className="jp-mod-styled azml-CopyIn-version"
          name="version"
          value={value.version}
          placeholder={trans.__('next')}
          onChange={e => set({ version: e.target.value })}
        />
      </Field>
      <Field label={trans.__('Type')} name="type">
        <select
          className="jp-mod-styled azml-CopyIn-type"
          value={value.type}
          onChange={e => set({ type: e.target.value as ICopyInForm['type'] })}
        >
          <option value="">{trans.__('From the path (file or folder)')}</option>
          <option value="uri_file">uri_file</option>
          <option value="uri_folder">uri_folder</option>
        </select>
      </Field>
      <Field label={trans.__('Description')} name="description">
        <input
          className="jp-mod-styled azml-CopyIn-description"
          name="description"
          value={value.description}
          onChange={e => set({ description: e.target.value })}
        />
      </Field>
    </div>
  );
}

/**
 * The copy-in dialog. `start` sends the request (the server checks the path
 * and the name); a refusal keeps the dialog open with the user's input and
 * the server's message beside the field. Resolves with what `start` returned,
 * or null when cancelled.
 */
export async function showCopyInDialog<R>(
  initial: Partial<ICopyInForm>,
  trans: TranslationBundle,
  start: (request: ICopyInRequest) => Promise<R>
): Promise<R | null> {
  const path = initial.path ?? '';
  let started: R | null = null;
  const form = await showFormDialog<ICopyInForm>({
    title: trans.__('Copy into workspace data'),
    initial: {
      path,
      name: initial.name ?? assetNameFor(path),
      type: initial.type ?? '',
      version: initial.version ?? '',
      description: initial.description ?? ''
    },
    okLabel: trans.__('Copy in'),
    validate: validateCopyIn,
    submit: async value => {
      const request = copyInRequest(value);
      try {
        started = await start(request);
        return null;
      } catch (error) {
        return serverProblem(
          error,
          trans.__('Could not copy %1', request.path),
          COPY_IN_FIELDS
        );
      }
    },
    focus: path ? '.azml-CopyIn-name' : '.azml-CopyIn-path',
    render: (value, set) => <CopyInForm value={value} set={set} trans={trans} />
  });
  return form ? started : null;
}

/** The server's field names (`details.field`, `details.kind`) -> the form's. */
const COPY_IN_FIELDS: Record<string, string> = {
  path: 'path',
  name: 'name',
  'data asset': 'name',
  version: 'version',
  type: 'type',
  description: 'description'
};
