import { LabIcon } from '@jupyterlab/ui-components';

// A flask over a cloud; `jp-icon3` makes JupyterLab recolour it per theme.
const azmlSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M9 2h6v2h-1v5.2l5.6 9.1A2.4 2.4 0 0 1 17.6 22H6.4a2.4 2.4 0 0 1-2-3.7L10 9.2V4H9zm3 9.3-2.4 3.9h4.8z"/>
  </g>
</svg>`;

export const azmlIcon = new LabIcon({
  name: 'azml-jupyter:azml',
  svgstr: azmlSvg
});

// The two notebook toolbar buttons must not look alike (issue 21): both show
// an upward arrow ("send to Azure ML"), one over a selected cell and one
// more, the other over a whole notebook page.

// Selected cells: the selected cell filled (as JupyterLab marks it), one more
// cell outlined, the arrow beside them.
const cellsSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M2 3h20v7H2z"/>
    <path fill-rule="evenodd" d="M2 13h11v8H2zm2 2v4h7v-4z"/>
    <path d="M17.5 22v-4.5H15l4-5 4 5h-2.5V22z"/>
  </g>
</svg>`;

export const azmlCellsIcon = new LabIcon({
  name: 'azml-jupyter:submit-cells',
  svgstr: cellsSvg
});

// The whole notebook: a page with a folded corner, the arrow on it.
const notebookSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path fill-rule="evenodd" d="M4 2h10l6 6v14H4zm2 2v16h12V9h-5V4z"/>
    <path d="M10.5 18v-4H8l4-5 4 5h-2.5v4z"/>
  </g>
</svg>`;

export const azmlNotebookIcon = new LabIcon({
  name: 'azml-jupyter:submit-notebook',
  svgstr: notebookSvg
});
