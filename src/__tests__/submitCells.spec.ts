import { Kernel, KernelMessage } from '@jupyterlab/services';

import {
  ISubmitCellsArgs,
  kernelErrorMessage,
  parseSubmitOutput,
  submitCellsCode,
  submitCellsInKernel,
  SubmitCellsError
} from '../commands/submitCells';

const args: ISubmitCellsArgs = {
  cells: [
    'import math\nx = 2',
    'print("it\'s \\"quoted\\"", math.sqrt(x))  # ünïcode'
  ],
  selected: [1],
  compute: 'cpu-cluster',
  environment: null,
  experimentName: null,
  displayName: 'sqrt',
  inputs: { data: './bank.csv' },
  outputs: ['plots'],
  parameters: {}
};

describe('submitCellsCode', () => {
  it('makes the documented submit_cells call, wait=False and show=False', () => {
    const code = submitCellsCode(args);
    expect(code).toContain('import azml_jupyter as _azml, json as _json');
    expect(code).toContain('_azml_job = _azml.submit_cells(');
    expect(code).toContain('wait=False, show=False,');
    expect(code).toContain(
      'print("AZML_JOB " + _json.dumps(_azml_job.to_dict()))'
    );
  });

  it('passes the arguments as one JSON string literal that decodes to exactly them', () => {
    const code = submitCellsCode(args);
    const literal = /_azml_args = _json\.loads\((".*")\)\n/.exec(code)![1];
    // A JSON string literal is a Python string literal with the same escapes.
    const payload = JSON.parse(JSON.parse(literal));
    expect(payload).toEqual({
      cells: args.cells,
      selected: [1],
      execution_counts: null,
      compute: 'cpu-cluster',
      environment: null,
      experiment_name: null,
      display_name: 'sqrt',
      inputs: { data: './bank.csv' },
      outputs: ['plots']
    });
    expect(literal).not.toContain('\n');
  });

  it("passes the cells' execution counts, so the job names them In [N] as JupyterLab shows them", () => {
    const code = submitCellsCode({ ...args, executionCounts: [3, null] });
    const literal = /_azml_args = _json\.loads\((".*")\)\n/.exec(code)![1];
    expect(JSON.parse(JSON.parse(literal)).execution_counts).toEqual([3, null]);
    expect(code).toContain('execution_counts=_azml_args["execution_counts"],');
  });
});

describe('parseSubmitOutput', () => {
  it('reads the AZML_JOB line among other output', () => {
    const job = parseSubmitOutput(
      'note: numpy captured\nAZML_JOB {"name": "cool_fox_1", "status": "Queued", "display_name": "sqrt", "experiment_name": "nb", "studio_url": null, "returns": [], "notes": []}\n'
    );
    expect(job?.name).toBe('cool_fox_1');
    expect(job?.status).toBe('Queued');
    expect(parseSubmitOutput('nothing here\n')).toBeNull();
  });

  it('says what to do when the kernel lacks the package', () => {
    expect(
      kernelErrorMessage(
        'ModuleNotFoundError',
        "No module named 'azml_jupyter'"
      )
    ).toContain("azml_jupyter is not installed in this notebook's kernel");
    expect(
      kernelErrorMessage(
        'CellAnalysisError',
        "name 'df' is not defined in the notebook or the kernel"
      )
    ).toBe("name 'df' is not defined in the notebook or the kernel");
  });
});

/** A kernel whose execute request plays back the given IOPub messages, then replies. */
function fakeKernel(
  iopub: Partial<KernelMessage.IIOPubMessage>[],
  status: 'ok' | 'error' = 'ok'
) {
  const requests: KernelMessage.IExecuteRequestMsg['content'][] = [];
  const kernel = {
    requestExecute(content: KernelMessage.IExecuteRequestMsg['content']) {
      requests.push(content);
      const future: any = { onIOPub: null };
      future.done = Promise.resolve().then(() => {
        for (const msg of iopub) {
          future.onIOPub(msg);
        }
        return {
          content: {
            status,
            execution_count: 1,
            user_expressions: {},
            payload: []
          }
        };
      });
      return future;
    }
  };
  return { kernel: kernel as unknown as Kernel.IKernelConnection, requests };
}

function stdout(text: string): Partial<KernelMessage.IIOPubMessage> {
  return {
    header: { msg_type: 'stream' } as any,
    content: { name: 'stdout', text } as any
  };
}

describe('submitCellsInKernel', () => {
  it('runs the call silently in history and returns the job', async () => {
    const { kernel, requests } = fakeKernel([
      stdout(
        'AZML_JOB {"name": "job-7", "status": "Queued", "display_name": null, '
      ),
      stdout(
        '"experiment_name": "nb", "studio_url": null, "returns": [], "notes": ["n1"]}\n'
      )
    ]);
    const job = await submitCellsInKernel(kernel, args);
    expect(job.name).toBe('job-7');
    expect(job.notes).toEqual(['n1']);
    expect(requests[0].store_history).toBe(false);
    expect(requests[0].silent).toBe(false);
  });

  it("raises the kernel's one-line refusal (nothing submitted)", async () => {
    const { kernel } = fakeKernel(
      [
        {
          header: { msg_type: 'error' } as any,
          content: {
            ename: 'UnserialisableVariable',
            evalue:
              "Variable 'lock' (assigned in In [3]) cannot be sent to the job",
            traceback: []
          } as any
        }
      ],
      'error'
    );
    await expect(submitCellsInKernel(kernel, args)).rejects.toEqual(
      new SubmitCellsError(
        'UnserialisableVariable',
        "Variable 'lock' (assigned in In [3]) cannot be sent to the job"
      )
    );
  });

  it('fails clearly when no result line came back', async () => {
    const { kernel } = fakeKernel([stdout('something else\n')]);
    await expect(submitCellsInKernel(kernel, args)).rejects.toThrow(
      'printed no "AZML_JOB" line'
    );
  });
});
