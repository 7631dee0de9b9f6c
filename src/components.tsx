import {
  caretDownIcon,
  caretRightIcon,
  LabIcon
} from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

/**
 * Small building blocks shared by the panel's sections. They use JupyterLab's
 * own classes (`jp-Button`, `jp-mod-minimal`, `jp-mod-styled`) and icons so
 * they follow the theme.
 */

/** A minimal icon button, like a JupyterLab toolbar button. */
export function IconButton(props: {
  icon: LabIcon;
  title: string;
  onClick: () => void;
  disabled?: boolean;
  className?: string;
  label?: string;
}): JSX.Element {
  return (
    <button
      type="button"
      className={`jp-Button jp-mod-minimal azml-IconButton ${props.className ?? ''}`}
      title={props.title}
      aria-label={props.title}
      disabled={props.disabled}
      onClick={event => {
        event.stopPropagation();
        props.onClick();
      }}
    >
      <props.icon.react tag="span" className="azml-IconButton-icon" />
      {props.label && (
        <span className="azml-IconButton-label">{props.label}</span>
      )}
    </button>
  );
}

/**
 * A collapsible part of the sidebar: a header (caret, title, count, actions)
 * and its body. The header's toggle is a real button (Enter and Space work).
 */
export function Section(props: {
  id: string;
  title: string;
  count?: number | null;
  actions?: React.ReactNode;
  className?: string;
  children: React.ReactNode;
  defaultOpen?: boolean;
}): JSX.Element {
  const [open, setOpen] = useState(props.defaultOpen ?? true);
  const bodyId = `azml-section-${props.id}`;
  const Caret = open ? caretDownIcon : caretRightIcon;
  return (
    <section
      className={`azml-Section ${props.className ?? ''}`}
      aria-label={props.title}
    >
      <header className="azml-Section-header">
        <button
          type="button"
          className="azml-Section-toggle"
          aria-expanded={open}
          aria-controls={bodyId}
          onClick={() => setOpen(!open)}
        >
          <Caret.react tag="span" className="azml-Section-caret" />
          <h2 className="azml-Section-title">{props.title}</h2>
          {props.count !== undefined && props.count !== null && (
            <span className="azml-Section-count">{props.count}</span>
          )}
        </button>
        <div className="azml-Section-actions">{props.actions}</div>
      </header>
      {open && (
        <div className="azml-Section-body" id={bodyId}>
          {props.children}
        </div>
      )}
    </section>
  );
}

/** The server's message, as is, where the user looks. */
export function ErrorMessage(props: {
  message: string | null | undefined;
  onDismiss?: () => void;
  /** The dismiss button's text (translated by the caller). */
  dismissLabel?: string;
}): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <p className="azml-Error" role="alert">
      <span className="azml-Error-text">{props.message}</span>
      {props.onDismiss && (
        <button
          type="button"
          className="jp-Button jp-mod-minimal azml-Error-dismiss"
          onClick={props.onDismiss}
        >
          {props.dismissLabel ?? '×'}
        </button>
      )}
    </p>
  );
}

/** A determinate bar when `fraction` is known, an indeterminate one otherwise. */
export function ProgressBar(props: {
  fraction: number | null;
  label: string;
}): JSX.Element {
  const known = props.fraction !== null && isFinite(props.fraction);
  const percent = known
    ? Math.round(Math.min(1, Math.max(0, props.fraction!)) * 100)
    : null;
  return (
    <div
      className={`azml-ProgressBar ${known ? '' : 'azml-mod-indeterminate'}`}
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent ?? undefined}
    >
      <div
        className="azml-ProgressBar-fill"
        style={{ width: known ? `${percent}%` : undefined }}
      />
    </div>
  );
}

/** `Date.now()`, re-read every `intervalMs` while `enabled` (running durations). */
export function useNow(intervalMs: number, enabled: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!enabled) {
      return;
    }
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, enabled]);
  return now;
}
