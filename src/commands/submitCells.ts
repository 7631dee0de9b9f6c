import { Kernel, KernelMessage } from '@jupyterlab/services';

import { ISubmitChoices } from './SubmitDialog';

/**
 * "Submit selected cells": the `azml_jupyter.submit_cells(...)` call of
 * docs/notebook-jobs.md, run in the notebook's own kernel (the cells are
 * analysed against its live variables). The arguments travel as one JSON
 * string that Python decodes (a JSON string literal is a valid Python string
 * literal; JSON's null/true/false elsewhere would not be Python).
 */

export interface ISubmitCellsArgs extends ISubmitChoices {
  /** Sources of the notebook's code cells, in document order. */
  cells: string[];
  /** Indices into `cells`. */
  selected: number[];
  /** Each code cell's execution count (null when never run): cells are named `In [N]` by it. */
  executionCounts?: (number | null)[];
}

/** What the kernel prints after `AZML_JOB ` (`Job.to_dict()`). */
export interface ISubmittedJob {
  name: string;
  status: string;
  display_name: string | null;
  experiment_name: string | null;
  studio_url: string | null;
  returns: string[];
  notes: string[];
}

/** A refusal from the kernel (`ename` e.g. CellAnalysisError, `evalue` the message). */
export class SubmitCellsError extends Error {
  constructor(
    readonly ename: string,
    message: string
  ) {
    super(message);
    this.name = 'SubmitCellsError';
  }
}

export const RESULT_PREFIX = 'AZML_JOB ';

export function submitCellsCode(args: ISubmitCellsArgs): string {
  const payload = JSON.stringify({
    cells: args.cells,
    selected: args.selected,
    execution_counts: args.executionCounts ?? null,
    compute: args.compute,
    environment: args.environment,
    experiment_name: args.experimentName,
    display_name: args.displayName,
    inputs: args.inputs,
    outputs: args.outputs
  });
  return [
    'import azml_jupyter as _azml, json as _json',
    `_azml_args = _json.loads(${JSON.stringify(payload)})`,
    '_azml_job = _azml.submit_cells(',
    '    _azml_args["cells"],',
    '    selected=_azml_args["selected"],',
    '    execution_counts=_azml_args["execution_counts"],',
    '    compute=_azml_args["compute"],',
    '    environment=_azml_args["environment"],',
    '    experiment_name=_azml_args["experiment_name"],',
    '    display_name=_azml_args["display_name"],',
    '    inputs=_azml_args["inputs"] or None,',
    '    outputs=_azml_args["outputs"] or None,',
    '    wait=False, show=False,',
    ')',
    'del _azml_args',
    `print(${JSON.stringify(RESULT_PREFIX)} + _json.dumps(_azml_job.to_dict()))`
  ].join('\n');
}

/** The job from the kernel's stdout; null when no result line is there. */
export function parseSubmitOutput(stdout: string): ISubmittedJob | null {
  for (const line of stdout.split('\n')) {
    if (line.startsWith(RESULT_PREFIX)) {
      const job = JSON.parse(line.slice(RESULT_PREFIX.length)) as ISubmittedJob;
      if (typeof job?.name === 'string' && job.name) {
        return job;
      }
    }
  }
  return null;
}

/** The message to show for a kernel error. */
export function kernelErrorMessage(ename: string, evalue: string): string {
  if (ename === 'ModuleNotFoundError' && evalue.includes('azml_jupyter')) {
    return `azml_jupyter is not installed in this notebook's kernel (${evalue}). Use a kernel of the environment where JupyterLab runs, or pip install azml-jupyter in the kernel's environment.`;
  }
  return evalue || ename;
}

/**
 * Run the call in `kernel`; resolves with the submitted job.
 *
 * @throws SubmitCellsError with the kernel's one-line message when it refused.
 */
export async function submitCellsInKernel(
  kernel: Kernel.IKernelConnection,
  args: ISubmitCellsArgs
): Promise<ISubmittedJob> {
  const future = kernel.requestExecute({
    code: submitCellsCode(args),
    silent: false,
    store_history: false,
    stop_on_error: true
  });
  let stdout = '';
  let failure: SubmitCellsError | null = null;
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    if (KernelMessage.isStreamMsg(msg) && msg.content.name === 'stdout') {
      stdout += msg.content.text;
    } else if (KernelMessage.isErrorMsg(msg)) {
      const { ename, evalue } = msg.content;
      failure = new SubmitCellsError(ename, kernelErrorMessage(ename, evalue));
    }
  };
  const reply = await future.done;
  if (failure) {
    throw failure;
  }
  if (reply.content.status !== 'ok') {
    const content = reply.content as KernelMessage.IReplyErrorContent;
    throw new SubmitCellsError(
      content.ename ?? 'error',
      kernelErrorMessage(
        content.ename ?? '',
        content.evalue ?? 'The kernel did not submit the cells.'
      )
    );
  }
  const job = parseSubmitOutput(stdout);
  if (!job) {
    throw new SubmitCellsError(
      'NoResult',
      `The kernel ran the submission but printed no "${RESULT_PREFIX.trim()}" line: ${stdout.trim().slice(-300) || '(no output)'}`
    );
  }
  return job;
}
