import { IComputeInfo } from '../computes/api';
import {
  adviceFrom,
  computeRequest,
  IComputeForm,
  recommendQuery,
  validateCompute
} from '../computes/ComputeDialog';
import { submitChoices, validateSubmit } from '../commands/SubmitDialog';
import {
  assetNameFor,
  copyInRequest,
  validateCopyIn
} from '../data/CopyInDialog';
import { parameterValue, parseNames, parseRows } from '../dialogs';
import { formatBytes, formatDuration, jobDuration } from '../format';
import { describeBinding, summariseOutputs } from '../jobs/JobDetail';

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
    ).toContain('experiment name');
    expect(validateSubmit({ ...blankSubmit, inputs: 'oops' })).toContain(
      'Inputs, line 1'
    );
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
    expect(validateCopyIn({ ...form, path: ' ' })).toContain(
      'Choose the file or folder'
    );
    expect(validateCopyIn({ ...form, name: '-x' })).toContain(
      'data asset name'
    );
    expect(validateCopyIn({ ...form, version: 'v 2' })).toContain('version');
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
    expect(validateCompute({ ...form, minNodes: '5' }, false)).toContain(
      'minimum'
    );
    expect(validateCompute({ ...form, maxNodes: '0' }, false)).toContain(
      'at least 1'
    );
    expect(validateCompute({ ...form, maxNodes: 'two' }, false)).toContain(
      'whole numbers'
    );
    expect(validateCompute({ ...form, name: ' ' }, true)).toContain(
      'Give the cluster a name'
    );
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
