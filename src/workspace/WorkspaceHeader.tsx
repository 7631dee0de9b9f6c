import { TranslationBundle } from '@jupyterlab/translation';
import React, { useCallback, useEffect, useState } from 'react';

import { fetchWorkspace, IWorkspaceInfo } from './api';

type State =
  | { kind: 'loading' }
  | { kind: 'ready'; info: IWorkspaceInfo }
  | { kind: 'error'; message: string };

/**
 * The workspace facts at the top of the sidebar: backend, name, location,
 * home folder (local) or studio link (Azure).
 */
export function WorkspaceHeader({
  trans
}: {
  trans: TranslationBundle;
}): JSX.Element {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const load = useCallback((signal?: AbortSignal) => {
    setState({ kind: 'loading' });
    fetchWorkspace(signal).then(
      info => setState({ kind: 'ready', info }),
      (error: Error) => {
        if (!signal?.aborted) {
          setState({ kind: 'error', message: error.message });
        }
      }
    );
  }, []);

  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal);
    return () => controller.abort();
  }, [load]);

  return (
    <section className="azml-Workspace" aria-label={trans.__('Workspace')}>
      <header className="azml-Section-header">
        <h2 className="azml-Section-title">{trans.__('Workspace')}</h2>
        <button
          className="jp-Button jp-mod-minimal azml-Refresh"
          title={trans.__('Reload workspace information')}
          onClick={() => load()}
        >
          {trans.__('Refresh')}
        </button>
      </header>
      {state.kind === 'loading' && (
        <p className="azml-Workspace-loading">{trans.__('Loading…')}</p>
      )}
      {state.kind === 'error' && (
        <p className="azml-Error" role="alert">
          {state.message}
        </p>
      )}
      {state.kind === 'ready' && (
        <WorkspaceFacts info={state.info} trans={trans} />
      )}
    </section>
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
    <dl className="azml-Workspace-facts">
      <dt>{trans.__('Backend')}</dt>
      <dd className="azml-Workspace-backend" data-backend={info.backend}>
        {info.backend}
      </dd>
      <dt>{trans.__('Name')}</dt>
      <dd className="azml-Workspace-name">{info.name}</dd>
      {info.location && (
        <>
          <dt>{trans.__('Location')}</dt>
          <dd className="azml-Workspace-location">{info.location}</dd>
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
            <a href={info.studio_url} target="_blank" rel="noopener noreferrer">
              {trans.__('Open in Azure ML studio')}
            </a>
          </dd>
        </>
      )}
    </dl>
  );
}
