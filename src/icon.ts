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

// The flask beside a cell bracket: "these cells as a job".
const cellsSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M2 3h5v2H4v14h3v2H2z"/>
    <path d="M11 2h6v2h-1v5.2l5.2 8.5A2.4 2.4 0 0 1 19.2 22H9.8a2.4 2.4 0 0 1-2-3.7L13 9.2V4h-2zm3 9.3-2.2 3.7h4.4z"/>
  </g>
</svg>`;

export const azmlCellsIcon = new LabIcon({
  name: 'azml-jupyter:cells',
  svgstr: cellsSvg
});
