import type { BuildsApi } from '../build-model/api.js';
import type { BuildEvent } from '../build-model/events.js';
import { buildImageInputs, toBuildImageParams } from '../inputs/build-image.js';
import { InputError } from '../util/errors.js';
import { buildResultShape } from './build-schemas.js';
import { summarizeBuild, toBuildResult } from './build-result.js';
import { defineTool, type ToolContext } from './tool.js';

export interface BuildImageToolDeps {
  builds: () => Promise<BuildsApi>;
  softDeadlineSeconds: number;
  /** Most log notifications per second a build sends a client, so a chatty build cannot flood it. */
  logMessagesPerSecond?: number;
}

/**
 * Keeps MCP progress strictly increasing across attempts (the protocol requires it): each attempt continues from
 * where the previous one stopped, and a started step counts as half done so its message is shown at once.
 */
export class ProgressCounter {
  private offset = 0;
  private attempt = 0;
  private last = -1;

  next(attempt: number, stepsDone: number, stepsTotal: number | undefined, started: boolean) {
    if (attempt !== this.attempt) {
      this.offset = Math.ceil(Math.max(this.last, 0));
      this.attempt = attempt;
    }
    const value = this.offset + stepsDone + (started ? 0.5 : 0);
    if (value <= this.last) return undefined;
    this.last = value;
    return { progress: value, total: stepsTotal === undefined ? undefined : this.offset + stepsTotal };
  }
}

/** Forwards a build's events as MCP progress and throttled log notifications while the request is open. */
function forwardProgress(builds: BuildsApi, buildId: string, context: ToolContext, perSecond: number): () => void {
  let pending: string[] = [];
  let dropped = 0;
  const counter = new ProgressCounter();
  const flush = () => {
    if (pending.length === 0 && dropped === 0) return;
    const lines = pending.join('\n') + (dropped > 0 ? `\n… ${dropped} more line(s) in the log file` : '');
    pending = [];
    dropped = 0;
    void context.log('info', lines).catch(() => undefined);
  };
  const timer = setInterval(flush, 1000 / perSecond);
  const unsubscribe = builds.subscribe(buildId, (event: BuildEvent, record) => {
    if (event.type === 'warning') {
      void context.log('warning', event.message).catch(() => undefined);
      return;
    }
    if (event.type === 'log') {
      // At most 20 lines per message; the rest is counted and left to the log file.
      if (pending.length < 20) pending.push(event.line);
      else dropped++;
      return;
    }
    if (event.type === 'step-started' || event.type === 'step-done' || event.type === 'step-cached') {
      const value = counter.next(record.attempt, event.completedSteps, event.totalSteps, event.type === 'step-started');
      if (!value) return;
      const message =
        event.type === 'step-started' ? `attempt ${record.attempt}: ${event.instruction}` : record.progress.message;
      void context.progress(value.progress, value.total, message.slice(0, 200)).catch(() => undefined);
    }
  });
  return () => {
    clearInterval(timer);
    unsubscribe();
    flush();
  };
}

export function buildImageTool(deps: BuildImageToolDeps) {
  return defineTool({
    name: 'build_image',
    title: 'Build image',
    description:
      'Builds a Docker image from a Dockerfile: analyses and fixes PyTorch/CUDA conflicts first, builds with live progress, ' +
      'diagnoses a failed build from its log, fixes and retries (up to max_attempts), then smoke-tests the image. ' +
      'With wait (default) it returns when the build ends or, for long builds, after a short soft deadline with status ' +
      '"running": then call get_build_status with the build_id. Cancelling this request stops the build. ' +
      'The Dockerfile is never modified unless write_fixes is true (builds use a fixed copy).',
    inputSchema: buildImageInputs.schema,
    outputSchema: buildResultShape,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    async handler(input, context) {
      if (input.force_local && input.force_codebuild) {
        throw new InputError(
          'force_local',
          'force_local and force_codebuild are mutually exclusive.',
          'Set at most one of them.',
        );
      }
      const builds = await deps.builds();
      const started = await builds.start(toBuildImageParams(input));
      if ('refused' in started) {
        return {
          isError: true,
          summary: `Cannot build (${started.mode}): ${started.message} Next: ${started.nextSteps.join(' ')}`,
        };
      }
      let record = started;
      if (input.wait) {
        const stopForwarding = forwardProgress(builds, record.build_id, context, deps.logMessagesPerSecond ?? 2);
        const onAbort = () => void builds.cancel(record.build_id);
        context.signal.addEventListener('abort', onAbort, { once: true });
        try {
          const softDeadlineMs = Math.min(deps.softDeadlineSeconds, input.timeout) * 1000;
          record = (await builds.waitForEnd(record.build_id, softDeadlineMs, context.signal)) ?? record;
          if (context.signal.aborted) record = (await builds.waitForEnd(record.build_id, 15_000)) ?? record;
        } finally {
          context.signal.removeEventListener('abort', onAbort);
          stopForwarding();
        }
      }
      const result = await toBuildResult(builds, record, input.tail_lines);
      const failed = result.status === 'failed' || result.status === 'interrupted';
      return { structured: result, summary: summarizeBuild(result), isError: failed };
    },
  });
}
