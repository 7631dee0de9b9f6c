import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { CommandIDs } from './commands/ids';
import { IJobRecord } from './jobs/api';
import { AzmlModel } from './model';
import { IOperation } from './operations';

/** Notification type for a status category from the server's table. */
export function notificationType(category: string): Notification.TypeOptions {
  switch (category) {
    case 'succeeded':
      return 'success';
    case 'failed':
      return 'error';
    case 'canceled':
      return 'warning';
    default:
      return 'info';
  }
}

export interface INotificationOptions {
  /** True when the job's tab is on screen (its log shows the end already). */
  isJobShown?: (name: string) => boolean;
}

/**
 * How long a job's end stays on screen (decision, issue 21): never sticky — a
 * failure toast that waited to be closed sat over the log the user opened to
 * read why. A failure stays longer (15 s) than other ends (10 s); when the
 * failed job's own tab is on screen, its badge and log already say it and a
 * toast would cover the traceback, so it goes to the notification list only
 * (0: kept there, no toast). The list (the bell in the status bar) keeps
 * every end with "Open logs".
 */
export function endedAutoClose(
  type: Notification.TypeOptions,
  jobShown: boolean
): number {
  if (type !== 'error') {
    return 10000;
  }
  return jobShown ? 0 : 15000;
}

/**
 * JupyterLab notifications for what ends while the page is open: a job seen
 * running reaching a terminal state (with "Open logs"), and copy-ins or
 * cluster updates started here.
 */
export function connectNotifications(
  model: AzmlModel,
  commands: CommandRegistry,
  trans: TranslationBundle,
  options: INotificationOptions = {}
): void {
  model.jobEnded.connect((_, job: IJobRecord) => {
    const status = model.state.statuses.get(job.status);
    const type = notificationType(status.category);
    const title = job.display_name || job.name;
    const message = job.error
      ? trans.__('Job %1: %2 — %3', title, status.name, job.error)
      : trans.__('Job %1: %2', title, status.name);
    Notification.emit(message, type, {
      autoClose: endedAutoClose(type, options.isJobShown?.(job.name) ?? false),
      actions: [
        {
          label: trans.__('Open logs'),
          caption: trans.__('Open the job with its log'),
          callback: () => {
            void commands.execute(CommandIDs.openJob, { name: job.name });
          }
        }
      ]
    });
  });

  model.operationEnded.connect((_, operation: IOperation) => {
    const asset = operation.result?.data_asset;
    if (operation.state === 'Succeeded') {
      const message =
        operation.kind === 'copy_in' && asset
          ? trans.__(
              'Copied into data asset azureml:%1:%2',
              asset.name,
              asset.version
            )
          : trans.__('%1: done', operation.description);
      Notification.success(message, { autoClose: 6000 });
    } else if (operation.state === 'Failed') {
      Notification.error(
        trans.__('%1 failed: %2', operation.description, operation.error ?? ''),
        { autoClose: false }
      );
    } else if (operation.state === 'Canceled') {
      Notification.info(trans.__('%1: canceled', operation.description), {
        autoClose: 6000
      });
    }
  });
}
