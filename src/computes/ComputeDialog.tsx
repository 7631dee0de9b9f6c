import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { Field, IFormProblem, serverProblem, showFormDialog } from '../dialogs';
import { errorMessage } from '../request';
import {
  IComputeInfo,
  IComputeRequest,
  IRecommendQuery,
  ISizingResult,
  IVmSize,
  recommendSize
} from './api';

/**
 * Create or resize a cluster. "Size for me…" asks the server's sizing
 * advice (`GET /azml/computes/recommend`, the ClusterSizer widget's ranking)
 * for the data the jobs read and the memory and GPUs they need, and picks
 * its best size; the full ranking, prices and quota live in the widget.
 */
export interface IComputeForm {
  name: string;
  size: string;
  minNodes: string;
  maxNodes: string;
  idleSeconds: string;
  tier: 'dedicated' | 'low_priority';
  /** "Size for me": a path under the root or `azureml:name[:version]`. */
  sizingData: string;
  sizingMemoryGb: string;
  sizingGpus: string;
  /** The advice shown under the button (or why there is none). */
  advice: string;
}

/** The recommend query for the form ("Size for me…"). */
export function recommendQuery(
  form: IComputeForm,
  existing: IComputeInfo | null
): IRecommendQuery {
  const data = form.sizingData.trim();
  const query: IRecommendQuery = { tier: form.tier };
  if (data.startsWith('azureml:')) {
    query.asset = data;
  } else if (data) {
    query.data = data;
  }
  if (form.sizingMemoryGb.trim()) {
    query.memory_gb = Number(form.sizingMemoryGb);
  }
  if (form.sizingGpus.trim()) {
    query.gpus = Number(form.sizingGpus);
  }
  if (/^\d+$/.test(form.maxNodes.trim()) && Number(form.maxNodes) > 0) {
    query.max_nodes = Number(form.maxNodes);
  }
  if (existing) {
    query.name = existing.name;
  }
  return query;
}

/** The size to pick and the line to show, from the server's ranking. */
export function adviceFrom(result: ISizingResult): {
  size: string | null;
  text: string;
} {
  const best = result.recommendations[0];
  if (best) {
    const price =
      best.price_per_hour !== null
        ? ` · $${best.price_per_hour.toFixed(2)}/h per node`
        : '';
    return {
      size: best.size.name,
      text: `${best.size.name}: ${best.reasons.join('; ')}${price}`
    };
  }
  if (result.over_quota.length > 0) {
    return {
      size: null,
      text: `Over quota: ${result.over_quota[0].size.name} would fit (${result.over_quota[0].reasons.join('; ')}).`
    };
  }
  return { size: null, text: result.impossible.join(' ') || 'No size fits.' };
}

function wholeNumber(text: string): number | null {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
}

export function validateCompute(
  form: IComputeForm,
  creating: boolean
): IFormProblem | null {
  // The naming rules are the server's (it answers with the exact rule).
  if (creating && !form.name.trim()) {
    return { field: 'name', message: 'A name is required.' };
  }
  if (creating && !form.size) {
    return { field: 'size', message: 'A VM size is required.' };
  }
  const min = wholeNumber(form.minNodes);
  const max = wholeNumber(form.maxNodes);
  if (min === null) {
    return { field: 'minNodes', message: 'A whole number is required.' };
  }
  if (max === null) {
    return { field: 'maxNodes', message: 'A whole number is required.' };
  }
  if (max < 1) {
    return {
      field: 'maxNodes',
      message: 'The maximum number of nodes must be at least 1.'
    };
  }
  if (min > max) {
    return {
      field: 'minNodes',
      message: 'The minimum number of nodes cannot be above the maximum.'
    };
  }
  if (form.idleSeconds.trim() && wholeNumber(form.idleSeconds) === null) {
    return {
      field: 'idleSeconds',
      message: 'The idle time must be a whole number of seconds.'
    };
  }
  return null;
}

/** The server's field names (`details.field`, `details.kind`) -> the form's. */
const COMPUTE_FIELDS: Record<string, string> = {
  compute: 'name',
  size: 'size',
  min_nodes: 'minNodes',
  max_nodes: 'maxNodes',
  idle_seconds: 'idleSeconds',
  tier: 'tier'
};

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

/**
 * The create / resize dialog. `apply` sends the request; a refusal keeps the
 * dialog open with the user's input and the server's message beside the
 * field. Resolves with what `apply` returned, or null when cancelled.
 */
export async function showComputeDialog<R>(
  existing: IComputeInfo | null,
  sizes: IVmSize[],
  trans: TranslationBundle,
  apply: (name: string, request: IComputeRequest) => Promise<R>
): Promise<R | null> {
  const creating = existing === null;
  let applied: R | null = null;
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
      tier: existing?.tier === 'low_priority' ? 'low_priority' : 'dedicated',
      sizingData: '',
      sizingMemoryGb: '',
      sizingGpus: '',
      advice: ''
    },
    okLabel: creating ? trans.__('Create') : trans.__('Apply'),
    validate: value => validateCompute(value, creating),
    submit: async value => {
      const name = creating ? value.name.trim() : existing!.name;
      try {
        applied = await apply(name, computeRequest(value, existing));
        return null;
      } catch (error) {
        return serverProblem(
          error,
          creating
            ? trans.__('Could not create compute %1', name)
            : trans.__('Could not update compute %1', name),
          COMPUTE_FIELDS
        );
      }
    },
    render: (value, set) => (
      <div className="azml-ComputeForm">
        {creating && (
          <Field label={trans.__('Name')} name="name">
            <input
              className="jp-mod-styled azml-Compute-name"
              value={value.name}
              onChange={e => set({ name: e.target.value })}
            />
          </Field>
        )}
        <Field label={trans.__('VM size')} name="size">
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
        <details className="azml-SizeForMe">
          <summary>{trans.__('Size for me…')}</summary>
          <div className="azml-Field-row">
            <Field
              label={trans.__('Data the jobs read')}
              hint={trans.__('A path under the root, or azureml:name:version')}
            >
              <input
                className="jp-mod-styled azml-Compute-sizingData"
                value={value.sizingData}
                onChange={e => set({ sizingData: e.target.value })}
              />
            </Field>
            <Field label={trans.__('Memory GB per node')}>
              <input
                className="jp-mod-styled azml-Compute-sizingMemory"
                type="number"
                min={0}
                value={value.sizingMemoryGb}
                onChange={e => set({ sizingMemoryGb: e.target.value })}
              />
            </Field>
            <Field label={trans.__('GPUs')}>
              <input
                className="jp-mod-styled azml-Compute-sizingGpus"
                type="number"
                min={0}
                value={value.sizingGpus}
                onChange={e => set({ sizingGpus: e.target.value })}
              />
            </Field>
          </div>
          <button
            type="button"
            className="jp-Button jp-mod-styled azml-Compute-sizeForMe"
            onClick={() => {
              set({ advice: trans.__('Asking the sizing advice…') });
              recommendSize(recommendQuery(value, existing)).then(
                result => {
                  const advice = adviceFrom(result);
                  set(
                    advice.size
                      ? { size: advice.size, advice: advice.text }
                      : { advice: advice.text }
                  );
                },
                error => set({ advice: errorMessage(error) })
              );
            }}
          >
            {trans.__('Recommend a size')}
          </button>
          {value.advice && (
            <p className="azml-Field-hint azml-Compute-advice">
              {value.advice}
            </p>
          )}
        </details>
        <div className="azml-Field-row">
          <Field label={trans.__('Min nodes')} name="minNodes">
            <input
              className="jp-mod-styled azml-Compute-min"
              type="number"
              min={0}
              value={value.minNodes}
              onChange={e => set({ minNodes: e.target.value })}
            />
          </Field>
          <Field label={trans.__('Max nodes')} name="maxNodes">
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
          name="idleSeconds"
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
        <Field label={trans.__('Tier')} name="tier">
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
  return form ? applied : null;
}
