import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import React from 'react';

import { CommandIDs } from './commands/ids';
import { ComputesSection } from './computes/ComputesSection';
import { DataSection } from './data/DataSection';
import { azmlIcon } from './icon';
import { JobList } from './jobs/JobList';
import { AzmlModel } from './model';
import { WorkspaceHeader } from './workspace/WorkspaceHeader';

export const SIDEBAR_ID = 'azml-jupyter-sidebar';

/**
 * The Azure ML left-sidebar panel: workspace, computes, data and jobs, each a
 * section living in its own folder under `src/`. It reads the one model and
 * runs commands for every action (so the palette and the panel do the same
 * thing); it tells the model when it is visible, which drives polling.
 */
export class AzmlSidebar extends ReactWidget {
  constructor(
    private readonly model: AzmlModel,
    private readonly commands: CommandRegistry,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('azml-Sidebar');
    this.title.icon = azmlIcon;
    // Side-bar tabs show the icon; the title text is the tab's tooltip.
    this.title.caption = trans.__('Azure ML');
    document.addEventListener('visibilitychange', this._onPageVisibility);
  }

  dispose(): void {
    document.removeEventListener('visibilitychange', this._onPageVisibility);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._syncVisibility();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._syncVisibility();
  }

  protected render(): JSX.Element {
    const { model, commands, trans } = this;
    return (
      <div className="azml-Sidebar-content">
        <h1 className="azml-Sidebar-title">{trans.__('Azure ML')}</h1>
        <WorkspaceHeader model={model} trans={trans} />
        <ComputesSection
          model={model}
          trans={trans}
          onEdit={name =>
            void commands.execute(CommandIDs.editCompute, name ? { name } : {})
          }
        />
        <DataSection
          model={model}
          trans={trans}
          onCopyIn={() => void commands.execute(CommandIDs.copyIn, {})}
        />
        <JobList
          model={model}
          trans={trans}
          onOpen={name => void commands.execute(CommandIDs.openJob, { name })}
        />
      </div>
    );
  }

  private _syncVisibility = (): void => {
    this.model.setVisible(
      this.isVisible && document.visibilityState !== 'hidden'
    );
  };

  private _onPageVisibility = (): void => this._syncVisibility();
}
