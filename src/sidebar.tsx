import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { azmlIcon } from './icon';
import { WorkspaceHeader } from './workspace/WorkspaceHeader';

export const SIDEBAR_ID = 'azml-jupyter-sidebar';

/**
 * The Azure ML left-sidebar panel. Each feature (workspace, computes, data,
 * jobs) is one section, living in its own folder under `src/`.
 */
export class AzmlSidebar extends ReactWidget {
  constructor(private readonly trans: TranslationBundle) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('azml-Sidebar');
    this.title.icon = azmlIcon;
    // Side-bar tabs show the icon; the title text is the tab's tooltip.
    this.title.caption = trans.__('Azure ML');
  }

  protected render(): JSX.Element {
    return (
      <div className="azml-Sidebar-content">
        <h1 className="azml-Sidebar-title">{this.trans.__('Azure ML')}</h1>
        <WorkspaceHeader trans={this.trans} />
      </div>
    );
  }
}
