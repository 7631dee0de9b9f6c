/**
 * Every command of the extension. The panel's buttons run these too, so the
 * palette, menus and the panel always do the same thing.
 */
export namespace CommandIDs {
  export const openPanel = 'azml:open-panel';
  export const refresh = 'azml:refresh';
  export const openJob = 'azml:open-job';
  export const cancelJob = 'azml:cancel-job';
  export const downloadOutputs = 'azml:download-outputs';
  export const submitYaml = 'azml:submit-yaml';
  export const submitCells = 'azml:submit-cells';
  export const submitNotebook = 'azml:submit-notebook';
  export const copyIn = 'azml:copy-in';
  export const editCompute = 'azml:edit-compute';
}
