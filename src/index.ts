import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

// The sidebar is added during activation, so it is needed at start-up anyway.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { AzmlSidebar } from './sidebar';

/**
 * The azml-jupyter front end. This file only wires plugins; feature code lives
 * in its own folder under `src/` (workspace/, later computes/, data/, jobs/).
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'azml-jupyter:plugin',
  description: 'Azure Machine Learning from inside JupyterLab.',
  autoStart: true,
  optional: [ITranslator],
  activate: (app: JupyterFrontEnd, translator: ITranslator | null) => {
    const trans = (translator ?? nullTranslator).load('azml_jupyter');
    app.shell.add(new AzmlSidebar(trans), 'left', { rank: 600 });
  }
};

export default plugin;
