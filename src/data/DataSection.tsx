import { TranslationBundle } from '@jupyterlab/translation';
import {
  caretDownIcon,
  caretRightIcon,
  fileUploadIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { ErrorMessage, IconButton, Section } from '../components';
import { formatBytes, formatFullTime } from '../format';
import { AzmlModel, useModel } from '../model';
import { OperationRow } from '../OperationRow';
import { IDataAsset } from './api';

/** Assets grouped by name, in the server's order (newest version first). */
export function groupAssets(
  assets: readonly IDataAsset[]
): [string, IDataAsset[]][] {
  const groups = new Map<string, IDataAsset[]>();
  for (const asset of assets) {
    const versions = groups.get(asset.name) ?? [];
    versions.push(asset);
    groups.set(asset.name, versions);
  }
  return [...groups.entries()];
}

/**
 * Data assets with their versions and sizes, and the copy-ins running from
 * this page (live progress, cancel). "Copy in…" opens the copy-in dialog.
 */
export function DataSection(props: {
  model: AzmlModel;
  trans: TranslationBundle;
  onCopyIn: () => void;
}): JSX.Element {
  const { model, trans, onCopyIn } = props;
  const data = useModel(model, s => s.data);
  const operations = useModel(model, s => s.operations).filter(
    op => op.kind === 'copy_in'
  );
  const groups = groupAssets(data.value ?? []);
  return (
    <Section
      id="data"
      title={trans.__('Data')}
      count={data.value ? groups.length : null}
      className="azml-Data"
      actions={
        <>
          <IconButton
            icon={fileUploadIcon}
            title={trans.__('Copy a file or folder into workspace data…')}
            className="azml-Data-copyIn"
            onClick={onCopyIn}
          />
          <IconButton
            icon={refreshIcon}
            title={trans.__('Refresh data assets')}
            onClick={() => void model.refreshData({ user: true })}
          />
        </>
      }
    >
      {operations.map(op => (
        <OperationRow key={op.id} operation={op} model={model} trans={trans} />
      ))}
      <ErrorMessage message={data.error} />
      {data.loading && !data.value && (
        <p className="azml-Muted">{trans.__('Loading…')}</p>
      )}
      {data.value && groups.length === 0 && (
        <p className="azml-Muted">
          {trans.__(
            'No data assets. Right-click a file or folder in the file browser: "Copy into workspace data".'
          )}
        </p>
      )}
      <ul className="azml-AssetList">
        {groups.map(([name, versions]) => (
          <AssetGroup
            key={name}
            name={name}
            versions={versions}
            trans={trans}
          />
        ))}
      </ul>
    </Section>
  );
}

function AssetGroup({
  name,
  versions,
  trans
}: {
  name: string;
  versions: IDataAsset[];
  trans: TranslationBundle;
}): JSX.Element {
  const [open, setOpen] = useState(false);
  const latest = versions[0];
  const Caret = open ? caretDownIcon : caretRightIcon;
  return (
    <li className="azml-Asset" data-asset={name}>
      <button
        type="button"
        className="azml-Asset-header"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        title={trans._n(
          '%1 version; newest: azureml:%2:%3',
          '%1 versions; newest: azureml:%2:%3',
          versions.length,
          name,
          latest.version
        )}
      >
        <Caret.react tag="span" className="azml-Asset-caret" />
        <span className="azml-Asset-name">{name}</span>
        <span className="azml-Asset-latest">v{latest.version}</span>
        <span className="azml-Asset-size">{assetSize(latest, trans)}</span>
      </button>
      {open && (
        <ul className="azml-Asset-versions">
          {versions.map(asset => (
            <li
              key={asset.version}
              className="azml-AssetVersion"
              data-version={asset.version}
              title={`${asset.path}\n${formatFullTime(asset.created_at)}${asset.description ? '\n' + asset.description : ''}`}
            >
              <span className="azml-AssetVersion-ref">
                azureml:{asset.name}:{asset.version}
              </span>
              <span className="azml-AssetVersion-type">{asset.type}</span>
              <span className="azml-AssetVersion-size">
                {assetSize(asset, trans)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function assetSize(asset: IDataAsset, trans: TranslationBundle): string {
  const size = formatBytes(asset.size_bytes);
  if (asset.type === 'uri_folder' && asset.file_count !== null) {
    return trans._n('%2 · %1 file', '%2 · %1 files', asset.file_count, size);
  }
  return size;
}
