import { TranslationBundle } from '@jupyterlab/translation';
import { launchIcon, refreshIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { ErrorMessage, IconButton, Section } from '../components';
import { AzmlModel, useModel } from '../model';
import { IWorkspaceInfo } from './api';

/**
 * The workspace facts at the top of the sidebar: backend, name, region, the
 * home folder (local engine) or a link to Azure ML studio (Azure).
 */
export function WorkspaceHeader(props: {
  model: AzmlModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const workspace = useModel(model, s => s.workspace);
  return (
    <Section
      id="workspace"
      title={trans.__('Workspace')}
      className="azml-Workspace"
      actions={
        <IconButton
          icon={refreshIcon}
          title={trans.__('Reload workspace information')}
          onClick={() => void model.refreshWorkspace()}
        />
      }
    >
      {workspace.loading && !workspace.value && (
        <p className="azml-Muted azml-Workspace-loading">
          {trans.__('Loading…')}
        </p>
      )}
      <ErrorMessage message={workspace.error} />
      {workspace.value && (
        <WorkspaceFacts info={workspace.value} trans={trans} />
      )}
    </Section>
  );
}

function WorkspaceFacts({
  info,
  trans
}: {
  info: IWorkspaceInfo;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <dl className="azml-Facts azml-Workspace-facts">
      <dt>{trans.__('Backend')}</dt>
      <dd className="azml-Workspace-backend" data-backend={info.backend}>
        {info.backend}
      </dd>
      <dt>{trans.__('Name')}</dt>
      <dd className="azml-Workspace-name">{info.name}</dd>
      {info.location && (
        <>
          <dt>{trans.__('Region')}</dt>
          <dd className="azml-Workspace-location">{info.location}</dd>
        </>
      )}
      {info.resource_group && (
        <>
          <dt>{trans.__('Resource group')}</dt>
          <dd className="azml-Workspace-group">{info.resource_group}</dd>
        </>
      )}
      {info.home && (
        <>
          <dt>{trans.__('Home')}</dt>
          <dd className="azml-Workspace-home" title={info.home}>
            {info.home}
          </dd>
        </>
      )}
      {info.studio_url && (
        <>
          <dt>{trans.__('Studio')}</dt>
          <dd>
            <a
              className="azml-StudioLink"
              href={info.studio_url}
              target="_blank"
              rel="noopener noreferrer"
            >
              {trans.__('Open in Azure ML studio')}
              <launchIcon.react tag="span" className="azml-StudioLink-icon" />
            </a>
          </dd>
        </>
      )}
    </dl>
  );
}
