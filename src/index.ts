import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

// Everything below is needed at start-up: the sidebar, its model and the commands.
import { CommandIDs } from './commands/ids';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { registerCommands } from './commands/register';
import { JobDetailWidget } from './jobs/JobDetail';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { AzmlModel } from './model';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { connectNotifications } from './notifications';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { AzmlSidebar } from './sidebar';

/**
 * The azml-jupyter front end. This file only wires: the model, the sidebar,
 * the commands (palette, menus, toolbar), notifications and layout restore.
 * Feature code lives in its own folder under `src/` (workspace/, computes/,
 * data/, jobs/, commands/); docs/front-end.md draws the whole picture.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'azml-jupyter:plugin',
  description: 'Azure Machine Learning from inside JupyterLab.',
  autoStart: true,
  optional: [
    ITranslator,
    ICommandPalette,
    INotebookTracker,
    IDefaultFileBrowser,
    ILayoutRestorer
  ],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    fileBrowser: IDefaultFileBrowser | null,
    restorer: ILayoutRestorer | null
  ) => {
    const trans = (translator ?? nullTranslator).load('azml_jupyter');
    const model = new AzmlModel();
    const jobTracker = new WidgetTracker<JobDetailWidget>({
      namespace: 'azml-job'
    });

    registerCommands({
      app,
      model,
      trans,
      jobTracker,
      notebooks,
      fileBrowser,
      palette
    });
    connectNotifications(model, app.commands, trans, {
      isJobShown: name =>
        !!jobTracker.find(widget => widget.jobName === name)?.isVisible
    });

    const sidebar = new AzmlSidebar(model, app.commands, trans);
    app.shell.add(sidebar, 'left', { rank: 600 });

    if (restorer) {
      restorer.add(sidebar, 'azml-sidebar');
      void restorer.restore(jobTracker, {
        command: CommandIDs.openJob,
        args: widget => ({ name: widget.jobName }),
        name: widget => widget.jobName
      });
    }

    void app.restored.then(() => model.start());
  }
};

export default plugin;
