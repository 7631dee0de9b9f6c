import React from 'react';

import { StatusTable } from '../statuses';

/**
 * A job's status as a pill: a dot and an outline in the colour the server gave
 * for it (`GET /azml/statuses`), the name in the theme's text colour (readable
 * in light and dark themes whatever the status colour).
 */
export function StatusBadge(props: {
  status: string;
  statuses: StatusTable;
}): JSX.Element {
  const style = props.statuses.get(props.status);
  return (
    <span
      className="azml-StatusBadge"
      data-status={style.name}
      data-category={style.category}
      style={{ '--azml-status-color': style.color } as React.CSSProperties}
      title={style.terminal ? `${style.name} (ended)` : style.name}
    >
      {style.name}
    </span>
  );
}
