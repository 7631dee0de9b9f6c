import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { Field, showFormDialog } from '../dialogs';
import { IComputeInfo, IComputeRequest, IVmSize } from './api';

/**
 * Create or resize a cluster. (Choosing a size from the data and the
 * kernel's memory — "Size for me…" — is the sizing widget's issue; the
 * server has no recommend route yet, so it is not here.)
 */
export interface IComputeForm {
  name: string;
  size: string;
  minNodes: string;
  maxNodes: string;
  idleSeconds: string;
  tier: 'dedicated' | 'low_priority';
}

const COMPUTE_NAME = /^[A-Za-z][A-Za-z0-9-]{1,31}$/;

function wholeNumber(text: string): number | null {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
}

export function validateCompute(
  form: IComputeForm,
  creating: boolean
): string | null {
  if (creating && !COMPUTE_NAME.test(form.name.trim())) {
    return 'The cluster name must be 2 to 32 letters, digits or "-", starting with a letter.';
  }
  if (creating && !form.size) {
    return 'Choose a VM size.';
  }
  const min = wholeNumber(form.minNodes);
  const max = wholeNumber(form.maxNodes);
  if (min === null || max === null) {
    return 'Node counts must be whole numbers.';
  }
  if (max < 1) {
    return 'The maximum number of nodes must be at least 1.';
  }
  if (min > max) {
    return 'The minimum number of nodes cannot be above the maximum.';
  }
  if (form.idleSeconds.trim() && wholeNumber(form.idleSeconds) === null) {
    return 'The idle time before scale-down must be a whole number of seconds.';
  }
  return null;
}

/** Only what changed for a resize; everything for a new cluster. */
export function computeRequest(
  form: IComputeForm,
  existing: IComputeInfo | null
): IComputeRequest {
  const request: IComputeRequest = {};
  const min = Number(form.minNodes);
  const max = Number(form.maxNodes);
  const idle = form.idleSeconds.trim() ? Number(form.idleSeconds) : null;
  if (!existing || form.size !== (existing.size ?? '')) {
    if (form.size) {
      request.size = form.size;
    }
  }
  if (!existing || min !== existing.min_nodes) {
    request.min_nodes = min;
  }
  if (!existing || max !== existing.max_nodes) {
    request.max_nodes = max;
  }
  if (idle !== null && (!existing || idle !== existing.idle_seconds)) {
    request.idle_seconds = idle;
  }
  if (!existing || form.tier !== (existing.tier ?? 'dedicated')) {
    request.tier = form.tier;
  }
  return request;
}

function sizeLabel(size: IVmSize): string {
  const parts = [size.name];
  const facts = [
    size.vcpus !== null ? `${size.vcpus} vCPU` : null,
    size.memory_gb !== null ? `${Math.round(size.memory_gb)} GB` : null,
    size.gpus ? `${size.gpus} GPU` : null
  ].filter(Boolean);
  if (facts.length) {
    parts.push(`(${facts.join(', ')})`);
  }
  return parts.join(' ');
}

export async function showComputeDialog(
  existing: IComputeInfo | null,
  sizes: IVmSize[],
  trans: TranslationBundle
): Promise<{ name: string; request: IComputeRequest } | null> {
  const creating = existing === null;
  const form = await showFormDialog<IComputeForm>({
    title: creating
      ? trans.__('New compute cluster')
      : trans.__('Resize cluster %1', existing!.name),
    initial: {
      name: existing?.name ?? '',
      size: existing?.size ?? sizes[0]?.name ?? '',
      minNodes: String(existing?.min_nodes ?? 0),
      maxNodes: String(existing?.max_nodes ?? 2),
      idleSeconds:
        existing?.idle_seconds !== null && existing?.idle_seconds !== undefined
          ? String(existing.idle_seconds)
          : creating
            ? '120'
            : '',
      tier: existing?.tier === 'low_priority' ? 'low_priority' : 'dedicated'
    },
    okLabel: creating ? trans.__('Create') : trans.__('Apply'),
    validate: value => validateCompute(value, creating),
    render: (value, set) => (
      <div className="azml-ComputeForm">
        {creating && (
          <Field label={trans.__('Name')}>
            <input
              className="jp-mod-styled azml-Compute-name"
              value={value.name}
              onChange={e => set({ name: e.target.value })}
            />
          </Field>
        )}
        <Field label={trans.__('VM size')}>
          <select
            className="jp-mod-styled azml-Compute-size"
            value={value.size}
            onChange={e => set({ size: e.target.value })}
          >
            {!sizes.some(size => size.name === value.size) && value.size && (
              <option value={value.size}>{value.size}</option>
            )}
            {sizes.map(size => (
              <option key={size.name} value={size.name}>
                {sizeLabel(size)}
              </option>
            ))}
          </select>
        </Field>
        <div className="azml-Field-row">
          <Field label={trans.__('Min nodes')}>
            <input
              className="jp-mod-styled azml-Compute-min"
              type="number"
              min={0}
              value={value.minNodes}
              onChange={e => set({ minNodes: e.target.value })}
            />
          </Field>
          <Field label={trans.__('Max nodes')}>
            <input
              className="jp-mod-styled azml-Compute-max"
              type="number"
              min={1}
              value={value.maxNodes}
              onChange={e => set({ maxNodes: e.target.value })}
            />
          </Field>
        </div>
        <Field
          label={trans.__('Idle seconds before scale-down')}
          hint={trans.__(
            'Nodes above the minimum are released after this idle time.'
          )}
        >
          <input
            className="jp-mod-styled azml-Compute-idle"
            type="number"
            min={0}
            value={value.idleSeconds}
            onChange={e => set({ idleSeconds: e.target.value })}
          />
        </Field>
        <Field label={trans.__('Tier')}>
          <select
            className="jp-mod-styled azml-Compute-tier"
            value={value.tier}
            onChange={e =>
              set({ tier: e.target.value as IComputeForm['tier'] })
            }
          >
            <option value="dedicated">{trans.__('Dedicated')}</option>
            <option value="low_priority">
              {trans.__('Low priority (cheaper, may be preempted)')}
            </option>
          </select>
        </Field>
      </div>
    )
  });
  if (!form) {
    return null;
  }
  const name = creating ? form.name.trim() : existing!.name;
  return { name, request: computeRequest(form, existing) };
}
