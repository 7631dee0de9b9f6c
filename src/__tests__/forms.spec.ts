import { IComputeInfo } from '../computes/api';
import {
  adviceFrom,
  computeRequest,
  IComputeForm,
  recommendQuery,
  validateCompute
} from '../computes/ComputeDialog';
import { codeDiffers, hasParametersCell } from '../commands/notebookFile';
import { submitChoices, validateSubmit } from '../commands/SubmitDialog';
import {
  assetNameFor,
  copyInRequest,
  validateCopyIn
} from '../data/CopyInDialog';
import {
  parameterValue,
  parseNames,
  parseRows,
  serverProblem
} from '../dialogs';
import { formatBytes, formatDuration, jobDuration } from '../format';
import { describeBinding, summariseOutputs } from '../jobs/JobDetail';
import { AzmlApiError } from '../request';

describe('form rows', () => {
  it('reads name=value lines, skipping blanks and comments', () => {
    expect(
      parseRows(
        'data = ./bank.csv\n\n# a comment\nlabels=azureml:labels:3',
        'Inputs'
      )
    ).toEqual({
      data: './bank.csv',
      labels: 'azureml:labels:3'
    });
  });

  it('names the line that is wrong', () => {
    expect(() => parseRows('ok=1\nnot a row', 'Inputs')).toThrow(
      'Inputs, line 2'
    );
    expect(() => parseRows('1x=2', 'Inputs')).toThrow('Python identifier');
    expect(() => parseRows('a=1\na=2', 'Parameters')).toThrow(
      '"a" is given twice'
    );
    expect(() => parseRows('a=', 'Parameters')).toThrow('line 1');
  });

  it('reads output names and parameter values', () => {
    expect(parseNames('plots, model\nmetrics', 'Outputs')).toEqual([
      'plots',
      'model',
      'metrics'
    ]);
    expect(() => parseNames('my-plots', 'Outputs')).toThrow('not a valid name');
    expect(parameterValue('5000')).toBe(5000);
    expect(parameterValue('true')).toBe(true);
    expect(parameterValue('west')).toBe('west');
    expect(parameterValue('007')).toBe('007');
    expect(parameterValue('[1, 2]')).toEqual([1, 2]);
  });

  it('turns the submit form into choices, empty fields into null', () => {
    const choices = submitChoices({
      compute: 'cpu',
      environment: ' ',
      experiment: 'exp',
      displayName: '',
      inputs: 'data=./d.csv',
      outputs: 'plots',
      parameters: 'rows=10\nregion=west'
    });
    expect(choices).toEqual({
      compute: 'cpu',
      environment: null,
      experimentName: 'exp',
      displayName: null,
      inputs: { data: './d.csv' },
      outputs: ['plots'],
      parameters: { rows: 10, region: 'west' }
    });
    expect(
      validateSubmit({ ...blankSubmit, experiment: 'bad name!' })
    ).toMatchObject({ field: 'experiment' });
    expect(validateSubmit({ ...blankSubmit, inputs: 'oops' })).toEqual({
      field: 'inputs',
      message:
        'Inputs, line 1: expected name=value with a Python identifier as the name, got "oops".'
    });
    expect(validateSubmit(blankSubmit)).toBeNull();
  });
});

const blankSubmit = {
  compute: '',
  environment: '',
  experiment: '',
  displayName: '',
  inputs: '',
  outputs: '',
  parameters: ''
};

describe('copy-in form', () => {
  it('names the asset after the path', () => {
    expect(assetNameFor('data/Trips 2024.csv')).toBe('Trips-2024');
    expect(assetNameFor('data/nyc-taxi/')).toBe('nyc-taxi');
    expect(assetNameFor('.hidden')).toBe('hidden');
    expect(assetNameFor('')).toBe('');
  });

  it('checks the form and leaves out empty fields', () => {
    const form = {
      path: 'data/trips',
      name: 'trips',
      type: '' as const,
      version: '',
      description: ''
    };
    expect(validateCopyIn(form)).toBeNull();
    expect(validateCopyIn({ ...form, path: ' ' })).toEqual({
      field: 'path',
      message:
        'The file or folder is required (a path relative to the Jupyter root).'
    });
    // Empty says "required"; a wrong name says the rule (issue 21, item 11).
    expect(validateCopyIn({ ...form, name: '' })).toEqual({
      field: 'name',
      message: 'The data asset name is required.'
    });
    expect(validateCopyIn({ ...form, name: '-x' })?.message).toContain(
      'must be letters, digits'
    );
    expect(validateCopyIn({ ...form, version: 'v 2' })?.field).toBe('version');
    expect(copyInRequest(form)).toEqual({ path: 'data/trips', name: 'trips' });
    expect(
      copyInRequest({
        ...form,
        type: 'uri_folder',
        version: '3',
        description: 'd'
      })
    ).toEqual({
      path: 'data/trips',
      name: 'trips',
      type: 'uri_folder',
      version: '3',
      description: 'd'
    });
  });
});

describe('compute form', () => {
  const existing: IComputeInfo = {
    name: 'cpu',
    type: 'amlcompute',
    size: 'Standard_DS3_v2',
    state: 'Succeeded',
    min_nodes: 0,
    max_nodes: 4,
    current_nodes: 0,
    target_nodes: 0,
    idle_seconds: 120,
    tier: 'dedicated',
    location: null,
    queued_jobs: null
  };
  const form: IComputeForm = {
    name: 'cpu',
    size: 'Standard_DS3_v2',
    minNodes: '0',
    maxNodes: '4',
    idleSeconds: '120',
    tier: 'dedicated',
    sizingData: '',
    sizingMemoryGb: '',
    sizingGpus: '',
    advice: ''
  };

  it('sends only what a resize changes', () => {
    expect(computeRequest({ ...form, maxNodes: '8' }, existing)).toEqual({
      max_nodes: 8
    });
    expect(computeRequest(form, existing)).toEqual({});
    expect(
      computeRequest({ ...form, name: 'gpu', size: 'Standard_NC6' }, null)
    ).toEqual({
      size: 'Standard_NC6',
      min_nodes: 0,
      max_nodes: 4,
      idle_seconds: 120,
      tier: 'dedicated'
    });
  });

  it('"Size for me" asks the sizing advice with the form\'s needs and picks its best size', () => {
    expect(
      recommendQuery(
        {
          ...form,
          sizingData: 'data/trips',
          sizingMemoryGb: '16',
          maxNodes: '3'
        },
        existing
      )
    ).toEqual({
      data: 'data/trips',
      memory_gb: 16,
      max_nodes: 3,
      tier: 'dedicated',
      name: 'cpu'
    });
    expect(
      recommendQuery(
        { ...form, sizingData: 'azureml:trips:2', sizingGpus: '1' },
        null
      )
    ).toEqual({
      asset: 'azureml:trips:2',
      gpus: 1,
      max_nodes: 4,
      tier: 'dedicated'
    });
    const size = {
      name: 'Standard_E4s_v3',
      vcpus: 4,
      memory_gb: 32,
      gpus: 0,
      family: 'E',
      low_priority_capable: true
    };
    const best = {
      rank: 1,
      size,
      nodes: 3,
      tier: 'dedicated',
      memory_gb: 32,
      needed_memory_gb: 20,
      price_per_hour: 0.252,
      price_at_max_nodes: 0.756,
      fits_quota: true,
      reasons: ['32 GB >= 20 GB needed', 'cheapest that fits']
    };
    const result = {
      needed_memory_gb: 20,
      memory_basis: 'data',
      recommendations: [best],
      over_quota: [],
      impossible: [],
      notes: []
    };
    expect(adviceFrom(result)).toEqual({
      size: 'Standard_E4s_v3',
      text: 'Standard_E4s_v3: 32 GB >= 20 GB needed; cheapest that fits · $0.25/h per node'
    });
    expect(
      adviceFrom({ ...result, recommendations: [], over_quota: [best] }).size
    ).toBeNull();
    expect(
      adviceFrom({
        ...result,
        recommendations: [],
        impossible: ['No size has 4 GPUs.']
      })
    ).toEqual({
      size: null,
      text: 'No size has 4 GPUs.'
    });
  });

  it('refuses impossible node counts and names', () => {
    expect(validateCompute({ ...form, minNodes: '5' }, false)).toEqual({
      field: 'minNodes',
      message: 'The minimum number of nodes cannot be above the maximum.'
    });
    expect(
      validateCompute({ ...form, maxNodes: '0' }, false)?.message
    ).toContain('at least 1');
    expect(validateCompute({ ...form, maxNodes: 'two' }, false)).toEqual({
      field: 'maxNodes',
      message: 'A whole number is required.'
    });
    expect(validateCompute({ ...form, name: ' ' }, true)).toEqual({
      field: 'name',
      message: 'A name is required.'
    });
    expect(validateCompute(form, true)).toBeNull();
  });
});

describe('formatting', () => {
  it('bytes, durations and job run time', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20 MB');
    expect(formatBytes(null)).toBe('–');
    expect(formatDuration(59_999)).toBe('59s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(2 * 3600_000 + 7 * 60_000)).toBe('2h 07m');
    expect(formatDuration(3 * 86400_000 + 4 * 3600_000)).toBe('3d 4h');
    const running = { started_at: '2026-11-26T09:00:00Z', ended_at: null };
    expect(jobDuration(running, Date.parse('2026-11-26T09:00:42Z'))).toBe(
      42_000
    );
    expect(
      jobDuration({ started_at: null, ended_at: null }, Date.now())
    ).toBeNull();
  });

  it('outputs per name and bindings on one line', () => {
    expect(
      summariseOutputs([
        { output: 'default', path: 'user_logs/std_log.txt', size_bytes: 100 },
        { output: 'default', path: 'outputs/model.pkl', size_bytes: 900 },
        { output: 'plots', path: 'a.png', size_bytes: 5 }
      ])
    ).toEqual([
      { output: 'default', files: 2, bytes: 1000 },
      { output: 'plots', files: 1, bytes: 5 }
    ]);
    expect(
      describeBinding({
        type: 'uri_folder',
        uri: 'azureml://datastores/d/paths/p'
      })
    ).toBe('uri_folder azureml://datastores/d/paths/p');
    expect(describeBinding({ type: 'integer', value: 3 })).toBe('integer 3');
    expect(describeBinding(0.5)).toBe('0.5');
  });
});

describe('what "Submit notebook" sends (issue 21, items 3 and 9)', () => {
  const cell = (source: string | string[], tags?: string[]) => ({
    cell_type: 'code',
    source,
    metadata: tags ? { tags } : {}
  });

  it('sees code changes, not outputs, kernel metadata or an added empty cell', () => {
    const saved = [cell('rows = 3\n'), cell(['print(', 'rows)'])];
    expect(
      codeDiffers([cell(['rows = 3\n']), cell('print(rows)')], saved)
    ).toBe(false);
    expect(codeDiffers([...saved, cell('')], saved)).toBe(false);
    expect(codeDiffers([cell('rows = 4\n'), saved[1]], saved)).toBe(true);
    expect(codeDiffers([saved[1]], saved)).toBe(true);
    expect(
      codeDiffers([cell('rows = 3\n', ['parameters']), saved[1]], saved)
    ).toBe(true);
    expect(
      codeDiffers([{ ...saved[0], cell_type: 'markdown' }, saved[1]], saved)
    ).toBe(true);
  });

  it("knows papermill's parameters cell", () => {
    expect(hasParametersCell([cell('x = 1'), cell('y')])).toBe(false);
    expect(hasParametersCell([cell('x = 1', ['parameters'])])).toBe(true);
    expect(
      hasParametersCell([
        {
          cell_type: 'markdown',
          source: '',
          metadata: { tags: ['parameters'] }
        }
      ])
    ).toBe(false);
  });
});

describe('server refusals in a dialog (issue 21, item 11)', () => {
  const refusal = (details: unknown) =>
    new AzmlApiError(new Response(null, { status: 400 }), {
      error: 'invalid_name',
      message: 'Invalid compute name: use 2-16 characters.',
      details
    });
  const fields = { compute: 'name', max_nodes: 'maxNodes' };

  it('goes beside the field the server names, or above the form', () => {
    expect(
      serverProblem(refusal({ kind: 'compute' }), 'Could not create x', fields)
    ).toEqual({
      message: 'Invalid compute name: use 2-16 characters.',
      heading: 'Could not create x',
      field: 'name'
    });
    expect(
      serverProblem(refusal({ field: 'max_nodes' }), 'h', fields).field
    ).toBe('maxNodes');
    expect(
      serverProblem(refusal({ field: 'elsewhere' }), 'h', fields).field
    ).toBeUndefined();
    expect(serverProblem(new Error('offline'), 'h', fields)).toEqual({
      message: 'offline',
      heading: 'h',
      field: undefined
    });
  });
});
