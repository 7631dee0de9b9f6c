import { TranslationBundle } from '@jupyterlab/translation';
import React, {
  useEffect,
  useLayoutEffect,
  useReducer,
  useRef,
  useState
} from 'react';

import { ErrorMessage } from '../components';
import { LogStream, LogStreamState } from './logStream';

/** Distance from the bottom (px) that still counts as "at the end". */
const AT_END_PX = 24;

/**
 * A job's log, streamed: new lines are appended as they arrive and the view
 * follows the tail while "Follow" is on. Scrolling up turns following off;
 * scrolling back to the end (or the checkbox) turns it on again.
 */
export function LogViewer(props: {
  stream: LogStream;
  trans: TranslationBundle;
}): JSX.Element {
  const { stream, trans } = props;
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [follow, setFollow] = useState(true);
  const pre = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const slot = () => rerender();
    stream.changed.connect(slot);
    return () => {
      stream.changed.disconnect(slot);
    };
  }, [stream]);

  // After each render with new text: keep the end in view while following.
  useLayoutEffect(() => {
    const node = pre.current;
    if (follow && node) {
      node.scrollTop = node.scrollHeight;
    }
  });

  // The box also shrinks when the properties above it grow (steps, outputs):
  // stay at the end then too.
  useEffect(() => {
    const node = pre.current;
    if (!follow || !node || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(() => {
      node.scrollTop = node.scrollHeight;
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, [follow]);

  const onScroll = () => {
    const node = pre.current;
    if (!node) {
      return;
    }
    const atEnd =
      node.scrollHeight - node.scrollTop - node.clientHeight <= AT_END_PX;
    if (atEnd !== follow) {
      setFollow(atEnd);
    }
  };

  const empty = stream.chunks.length === 0;
  return (
    <div className="azml-LogViewer" data-state={stream.state}>
      <div className="azml-LogViewer-toolbar">
        <span className="azml-LogViewer-state">
          {stateText(stream.state, stream.status, trans)}
        </span>
        <label className="azml-LogViewer-follow">
          <input
            type="checkbox"
            checked={follow}
            onChange={event => setFollow(event.target.checked)}
          />
          {trans.__('Follow')}
        </label>
      </div>
      <ErrorMessage message={stream.error} />
      <pre
        ref={pre}
        className="azml-LogViewer-text"
        tabIndex={0}
        aria-label={trans.__('Log of job %1', stream.name)}
        aria-live="off"
        onScroll={onScroll}
      >
        {stream.trimmed && (
          <span className="azml-LogViewer-trimmed">
            {trans.__('[earlier lines not kept in the browser]\n')}
          </span>
        )}
        {stream.chunks.map(chunk => (
          <span key={chunk.id}>{chunk.text}</span>
        ))}
        {empty && stream.state !== 'failed' && (
          <span className="azml-Muted">
            {stream.state === 'ended'
              ? trans.__('(the log is empty)')
              : trans.__('Waiting for output…')}
          </span>
        )}
      </pre>
    </div>
  );
}

function stateText(
  state: LogStreamState,
  status: string | null,
  trans: TranslationBundle
): string {
  switch (state) {
    case 'connecting':
      return trans.__('Connecting…');
    case 'streaming':
      return trans.__('Live');
    case 'reconnecting':
      return trans.__('Reconnecting…');
    case 'ended':
      return status
        ? trans.__('End of log (%1)', status)
        : trans.__('End of log');
    default:
      return trans.__('Log unavailable');
  }
}
