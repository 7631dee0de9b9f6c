import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  showDialog,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Contents } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import {
  CommandToolbarButton,
  fileUploadIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { DisposableDelegate } from '@lumino/disposable';

import { listSizes } from '../computes/api';
import { showComputeDialog } from '../computes/ComputeDialog';
import { showCopyInDialog } from '../data/CopyInDialog';
import { azmlCellsIcon, azmlIcon, azmlNotebookIcon } from '../icon';
import { downloadOutputs, IJobRecord, listOutputs } from '../jobs/api';
import { showDownloadDialog } from '../jobs/DownloadDialog';
import { JobDetailWidget, jobWidgetId } from '../jobs/JobDetail';
import { AzmlModel } from '../model';
import { errorMessage } from '../request';
import { SIDEBAR_ID } from '../sidebar';
import { CommandIDs } from './ids';
import { submitCellsInKernel } from './submitCells';
import { codeDiffers, hasParametersCell, ICellLike } from './notebookFile';
import { showSubmitDialog } from './SubmitDialog';

/** What the commands need; the optional JupyterLab parts may be missing. */
export interface ICommandContext {
  app: JupyterFrontEnd;
  model: AzmlModel;
  trans: TranslationBundle;
  jobTracker: WidgetTracker<JobDetailWidget>;
  notebooks: INotebookTracker | null;
  fileBrowser: IDefaultFileBrowser | null;
  palette: ICommandPalette | null;
}

/** `describedBy` argument schemas of the commands (JupyterLab shows and checks them). */
const NO_ARGS = {
  args: { type: 'object' as const, properties: {} }
};
const JOB_ARGS = {
  args: {
    type: 'object' as const,
    properties: { name: { type: 'string', description: 'The job name' } },
    required: ['name']
  }
};
const PATH_ARGS = {
  args: {
    type: 'object' as const,
    properties: {
      path: {
        type: 'string',
        description:
          'A path relative to the Jupyter root; default: the file browser selection or the current document'
      }
    }
  }
};
const NOTEBOOK_ARGS = {
  args: {
    type: 'object' as const,
    properties: {
      path: {
        type: 'string',
        description: 'The notebook, relative to the Jupyter root'
      },
      notebookId: {
        type: 'string',
        description: 'The id of an open notebook panel'
      }
    }
  }
};
const COMPUTE_ARGS = {
  args: {
    type: 'object' as const,
    properties: {
      name: {
        type: 'string',
        description: 'The cluster to resize; none for a new cluster'
      }
    }
  }
};

const YAML = /\.ya?ml$/i;
const NOTEBOOK = /\.ipynb$/i;
const PALETTE_CATEGORY = 'Azure ML';

/** Show a failure with the server's message (never a silent failure). */
export function reportError(title: string, error: unknown): void {
  void showErrorMessage(title, { message: errorMessage(error) });
}

/** The file browser items the command was invoked on, if any. */
function browserSelection(context: ICommandContext): Contents.IModel[] {
  const browser = context.fileBrowser;
  return browser ? Array.from(browser.selectedItems()) : [];
}

/** True when the command runs from a context menu opened on the file browser. */
function fromFileBrowser(context: ICommandContext): boolean {
  return !!context.app.contextMenuHitTest(node =>
    node.classList.contains('jp-DirListing-item')
  );
}

/** The notebook a command acts on: the one named in args, or the current one. */
function targetNotebook(
  context: ICommandContext,
  args: ReadonlyPartialJSONObject
): NotebookPanel | null {
  const tracker = context.notebooks;
  if (!tracker) {
    return null;
  }
  if (typeof args.notebookId === 'string') {
    return tracker.find(panel => panel.id === args.notebookId) ?? null;
  }
  return tracker.currentWidget;
}

function yamlPath(
  context: ICommandContext,
  args: ReadonlyPartialJSONObject
): string | null {
  if (typeof args.path === 'string') {
    return args.path;
  }
  const selected = browserSelection(context).filter(item =>
    YAML.test(item.path)
  );
  if (fromFileBrowser(context) || selected.length === 1) {
    return selected.length === 1 ? selected[0].path : null;
  }
  // An open YAML file in the editor.
  const path = (context.app.shell.currentWidget as any)?.context?.path;
  return typeof path === 'string' && YAML.test(path) ? path : null;
}

function notebookPath(
  context: ICommandContext,
  args: ReadonlyPartialJSONObject
): string | null {
  if (typeof args.path === 'string') {
    return args.path;
  }
  if (fromFileBrowser(context)) {
    const selected = browserSelection(context).filter(item =>
      NOTEBOOK.test(item.path)
    );
    return selected.length === 1 ? selected[0].path : null;
  }
  return targetNotebook(context, args)?.context.path ?? null;
}

/**
 * After a submission: show the panel, mark the job, tell the user. `pending`
 * is the "Submitting…" notification, turned into this one in place (so no
 * spinner is left turning next to "Submitted job").
 */
function announceSubmitted(
  context: ICommandContext,
  job: Pick<IJobRecord, 'name' | 'status' | 'display_name'>,
  pending?: string
): void {
  const { app, model, trans } = context;
  model.jobSubmitted(job);
  app.shell.activateById(SIDEBAR_ID);
  const message = trans.__('Submitted job %1', job.display_name || job.name);
  const options = {
    autoClose: 6000,
    actions: [
      {
        label: trans.__('Open logs'),
        callback: () => {
          void app.commands.execute(CommandIDs.openJob, { name: job.name });
        }
      }
    ]
  };
  if (pending) {
    Notification.update({ id: pending, message, type: 'success', ...options });
  } else {
    Notification.success(message, options);
  }
}

/**
 * What "Submit notebook" submits. The server runs the file as saved; an open
 * notebook is never saved behind the user's back. When its code differs from
 * the file (outputs and kernel metadata do not count), the user chooses.
 * Resolves with the cells that will run and whether to save first, or null
 * (cancelled, or the file could not be read: reported).
 */
async function notebookToSubmit(
  context: ICommandContext,
  path: string
): Promise<{ cells: ICellLike[]; save: NotebookPanel | null } | null> {
  const { app, notebooks, trans } = context;
  let saved: ICellLike[];
  try {
    const file = await app.serviceManager.contents.get(path, {
      type: 'notebook',
      content: true
    });
    saved = (file.content?.cells ?? []) as ICellLike[];
  } catch (error) {
    reportError(trans.__('Could not read %1', path), error);
    return null;
  }
  const open = notebooks?.find(panel => panel.context.path === path);
  const model = open?.context.model;
  if (!open || !model?.dirty) {
    return { cells: saved, save: null };
  }
  const current = (model.toJSON() as unknown as { cells: ICellLike[] }).cells;
  if (!codeDiffers(current, saved)) {
    return { cells: saved, save: null };
  }
  const saveAndSubmit = trans.__('Save and submit');
  const answer = await showDialog({
    title: trans.__('%1 has unsaved changes', PathExt.basename(path)),
    body: trans.__(
      'The job runs the notebook as it is saved on disk. Save your changes first, or submit the saved version and keep editing.'
    ),
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({
        label: trans.__('Submit the saved version'),
        displayType: 'default'
      }),
      Dialog.okButton({ label: saveAndSubmit })
    ],
    defaultButton: 2
  });
  if (!answer.button.accept) {
    return null;
  }
  return answer.button.label === saveAndSubmit
    ? { cells: current, save: open }
    : { cells: saved, save: null };
}

export function registerCommands(context: ICommandContext): void {
  const { app, model, trans, jobTracker, palette } = context;
  const { commands } = app;

  commands.addCommand(CommandIDs.openPanel, {
    describedBy: { ...NO_ARGS },
    label: trans.__('Open the Azure ML panel'),
    icon: azmlIcon,
    execute: () => app.shell.activateById(SIDEBAR_ID)
  });

  commands.addCommand(CommandIDs.refresh, {
    describedBy: { ...NO_ARGS },
    label: trans.__('Refresh Azure ML jobs, computes and data'),
    icon: refreshIcon,
    execute: async () => {
      await Promise.all([
        model.refreshJobs({ user: true }).catch(() => false),
        model.refreshComputes({ user: true }),
        model.refreshData({ user: true })
      ]);
    }
  });

  commands.addCommand(CommandIDs.openJob, {
    describedBy: { ...JOB_ARGS },
    label: args =>
      args.name
        ? trans.__('Open job %1', args.name as string)
        : trans.__('Open job'),
    execute: args => {
      const name = args.name as string;
      if (!name) {
        return;
      }
      const id = jobWidgetId(name);
      let widget = jobTracker.find(w => w.id === id);
      if (!widget) {
        widget = new JobDetailWidget(name, model, commands, trans);
        void jobTracker.add(widget);
        app.shell.add(widget, 'main');
      }
      app.shell.activateById(widget.id);
      return widget;
    }
  });

  commands.addCommand(CommandIDs.cancelJob, {
    describedBy: { ...JOB_ARGS },
    label: trans.__('Cancel Azure ML job…'),
    execute: async args => {
      const name = args.name as string;
      const record = model.state.records.get(name);
      const title = record?.display_name || name;
      const answer = await showDialog({
        title: trans.__('Cancel job?'),
        body: trans.__(
          'Cancel job "%1" (%2)? Its processes are stopped; outputs written so far are kept.',
          title,
          name
        ),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Keep running') }),
          Dialog.warnButton({ label: trans.__('Cancel job') })
        ]
      });
      if (!answer.button.accept) {
        return null;
      }
      try {
        return await model.cancel(name);
      } catch (error) {
        reportError(trans.__('Could not cancel job %1', title), error);
        return null;
      }
    }
  });

  commands.addCommand(CommandIDs.downloadOutputs, {
    describedBy: { ...JOB_ARGS },
    label: trans.__('Download job outputs to folder…'),
    execute: async args => {
      const name = args.name as string;
      let outputs: string[];
      try {
        outputs = [
          ...new Set((await listOutputs(name)).map(file => file.output))
        ];
      } catch (error) {
        reportError(trans.__('Could not list the outputs of %1', name), error);
        return;
      }
      const base = context.fileBrowser?.model.path ?? '';
      const choice = await showDownloadDialog({
        job: name,
        outputs,
        defaultPath: PathExt.join(base, 'azml-outputs', name),
        trans
      });
      if (!choice) {
        return;
      }
      const folder = choice.path;
      try {
        const files = await downloadOutputs(name, folder, choice.output);
        Notification.success(
          trans._n(
            'Downloaded %1 file of %2 into %3',
            'Downloaded %1 files of %2 into %3',
            files.length,
            name,
            folder
          ),
          {
            autoClose: 8000,
            actions: [
              {
                label: trans.__('Show in file browser'),
                callback: () => {
                  void commands.execute('filebrowser:go-to-path', {
                    path: `/${folder}`
                  });
                }
              }
            ]
          }
        );
        return files;
      } catch (error) {
        reportError(
          trans.__('Could not download the outputs of %1', name),
          error
        );
      }
    }
  });

  commands.addCommand(CommandIDs.submitYaml, {
    describedBy: { ...PATH_ARGS },
    label: trans.__('Submit Azure ML job'),
    caption: trans.__('Submit this Azure ML job YAML file (CLI v2 schema)'),
    icon: azmlIcon,
    isEnabled: args => yamlPath(context, args) !== null,
    execute: async args => {
      const path = yamlPath(context, args);
      if (!path) {
        return;
      }
      try {
        const job = await model.submit({ path });
        announceSubmitted(context, job);
        return job;
      } catch (error) {
        reportError(trans.__('Could not submit %1', path), error);
      }
    }
  });

  commands.addCommand(CommandIDs.submitNotebook, {
    describedBy: { ...NOTEBOOK_ARGS },
    label: trans.__('Submit notebook as Azure ML job'),
    caption: trans.__(
      'Azure ML: run the whole notebook, as saved, as an unattended job (papermill)'
    ),
    icon: azmlNotebookIcon,
    isEnabled: args => notebookPath(context, args) !== null,
    execute: async args => {
      const path = notebookPath(context, args);
      if (!path) {
        return;
      }
      const what = await notebookToSubmit(context, path);
      if (!what) {
        return;
      }
      const choices = await showSubmitDialog({
        kind: 'notebook',
        what: PathExt.basename(path),
        computes: model.state.computes.value ?? [],
        defaultExperiment: PathExt.basename(path, '.ipynb'),
        hasParametersCell: hasParametersCell(what.cells),
        trans
      });
      if (!choices) {
        return;
      }
      try {
        if (what.save) {
          await what.save.context.save(); // the user chose "Save and submit"
        }
        const job = await model.submit({
          notebook: path,
          ...(Object.keys(choices.parameters).length
            ? { parameters: choices.parameters }
            : {}),
          ...(choices.compute ? { compute: choices.compute } : {}),
          ...(choices.environment ? { environment: choices.environment } : {}),
          ...(choices.experimentName
            ? { experiment_name: choices.experimentName }
            : {}),
          ...(choices.displayName ? { display_name: choices.displayName } : {})
        });
        announceSubmitted(context, job);
        return job;
      } catch (error) {
        reportError(trans.__('Could not submit notebook %1', path), error);
      }
    }
  });

  commands.addCommand(CommandIDs.submitCells, {
    describedBy: { ...NOTEBOOK_ARGS },
    label: trans.__('Submit selected cells as Azure ML job'),
    caption: trans.__(
      'Azure ML: run the selected cells (with what they need from earlier cells) as an unattended job'
    ),
    icon: azmlCellsIcon,
    isEnabled: args => targetNotebook(context, args) !== null,
    execute: async args => {
      const panel = targetNotebook(context, args);
      if (!panel) {
        return;
      }
      const notebook = panel.content;
      const cells: string[] = [];
      const selected: number[] = [];
      const executionCounts: (number | null)[] = [];
      notebook.widgets.forEach(cell => {
        if (cell.model.type !== 'code') {
          return;
        }
        if (notebook.isSelectedOrActive(cell)) {
          selected.push(cells.length);
        }
        cells.push(cell.model.sharedModel.getSource());
        // a code cell's model has an executionCount (typed in @jupyterlab/cells, not a dependency)
        const count = (cell.model as { executionCount?: number | null })
          .executionCount;
        executionCounts.push(count ?? null);
      });
      if (selected.length === 0) {
        reportError(
          trans.__('Nothing to submit'),
          trans.__('Select one or more code cells first.')
        );
        return;
      }
      const kernel = panel.sessionContext.session?.kernel;
      if (!kernel) {
        reportError(
          trans.__('No kernel'),
          trans.__(
            "Start the notebook's kernel first: the selected cells are analysed against its variables."
          )
        );
        return;
      }
      const what =
        selected.length === 1
          ? trans.__('cell %1', selected[0] + 1)
          : trans.__('%1 cells', selected.length);
      const choices = await showSubmitDialog({
        kind: 'cells',
        what,
        computes: model.state.computes.value ?? [],
        defaultExperiment: PathExt.basename(panel.context.path, '.ipynb'),
        trans
      });
      if (!choices) {
        return;
      }
      const submission = submitCellsInKernel(kernel, {
        ...choices,
        cells,
        selected,
        executionCounts
      });
      const pending = Notification.emit(
        trans.__(
          'Submitting %1 of %2…',
          what,
          PathExt.basename(panel.context.path)
        ),
        'in-progress',
        { autoClose: false }
      );
      try {
        const job = await submission;
        announceSubmitted(context, job, pending);
        for (const note of job.notes ?? []) {
          Notification.info(note, { autoClose: 10000 });
        }
        return job;
      } catch (error) {
        Notification.dismiss(pending);
        reportError(trans.__('Could not submit the cells'), error);
      }
    }
  });

  commands.addCommand(CommandIDs.copyIn, {
    describedBy: { ...PATH_ARGS },
    label: trans.__('Copy into workspace data'),
    caption: trans.__(
      'Copy a file or folder into the workspace as a new data asset version'
    ),
    icon: fileUploadIcon,
    execute: async args => {
      let path = typeof args.path === 'string' ? args.path : '';
      let type: '' | 'uri_file' | 'uri_folder' = '';
      if (!path) {
        const [item] = browserSelection(context);
        if (
          item &&
          (fromFileBrowser(context) || browserSelection(context).length === 1)
        ) {
          path = item.path;
          type = item.type === 'directory' ? 'uri_folder' : 'uri_file';
        }
      }
      // The dialog starts the copy; a refusal stays in the dialog, beside the field.
      const operation = await showCopyInDialog({ path, type }, trans, request =>
        model.copyIn(request)
      );
      if (operation) {
        app.shell.activateById(SIDEBAR_ID);
      }
      return operation;
    }
  });

  commands.addCommand(CommandIDs.editCompute, {
    describedBy: { ...COMPUTE_ARGS },
    label: args =>
      args.name
        ? trans.__('Resize compute cluster %1…', args.name as string)
        : trans.__('New Azure ML compute cluster…'),
    execute: async args => {
      const name = typeof args.name === 'string' ? args.name : null;
      const existing = name
        ? ((model.state.computes.value ?? []).find(c => c.name === name) ??
          null)
        : null;
      if (name && !existing) {
        reportError(
          trans.__('Unknown cluster'),
          trans.__('No compute named %1.', name)
        );
        return;
      }
      let sizes;
      try {
        sizes = await listSizes();
      } catch (error) {
        reportError(trans.__('Could not list VM sizes'), error);
        return;
      }
      // The dialog sends the request; a refusal stays in the dialog, beside the field.
      return await showComputeDialog(existing, sizes, trans, (name, request) =>
        model.updateCompute(name, request)
      );
    }
  });

  // ---- where the commands appear ----------------------------------------------------------------
  if (palette) {
    for (const command of [
      CommandIDs.openPanel,
      CommandIDs.refresh,
      CommandIDs.submitCells,
      CommandIDs.submitNotebook,
      CommandIDs.submitYaml,
      CommandIDs.copyIn,
      CommandIDs.editCompute
    ]) {
      palette.addItem({ command, category: PALETTE_CATEGORY });
    }
  }

  app.contextMenu.addItem({
    command: CommandIDs.submitYaml,
    selector: '.jp-DirListing-item[data-file-type="yaml"]',
    rank: 3
  });
  app.contextMenu.addItem({
    command: CommandIDs.submitNotebook,
    selector: '.jp-DirListing-item[data-file-type="notebook"]',
    rank: 3
  });
  app.contextMenu.addItem({
    command: CommandIDs.copyIn,
    selector: '.jp-DirListing-item',
    rank: 4
  });
  app.contextMenu.addItem({
    command: CommandIDs.submitCells,
    selector: '.jp-Notebook .jp-Cell',
    rank: 20
  });

  // Notebook toolbar: both submit commands, for the notebook the toolbar
  // belongs to; each with its own icon and a word, so they are told apart.
  const submitButton = (
    id: string,
    panel: NotebookPanel,
    className: string,
    label: string
  ) => {
    const button = new CommandToolbarButton({
      commands,
      id,
      args: { notebookId: panel.id },
      label
    });
    button.addClass(className);
    return button;
  };
  app.docRegistry.addWidgetExtension('Notebook', {
    createNew: (panel: NotebookPanel) => {
      const buttons = [
        submitButton(
          CommandIDs.submitCells,
          panel,
          'azml-SubmitCellsButton',
          trans.__('Submit cells')
        ),
        submitButton(
          CommandIDs.submitNotebook,
          panel,
          'azml-SubmitNotebookButton',
          trans.__('Submit notebook')
        )
      ];
      // After the cell-type selector when the toolbar has one, else at the end.
      let after = 'cellType';
      buttons.forEach((button, index) => {
        const name = index === 0 ? 'azml-submit-cells' : 'azml-submit-notebook';
        if (!panel.toolbar.insertAfter(after, name, button)) {
          panel.toolbar.addItem(name, button);
        }
        after = name;
      });
      return new DisposableDelegate(() =>
        buttons.forEach(button => button.dispose())
      );
    }
  });
}
