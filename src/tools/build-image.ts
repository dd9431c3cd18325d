import type { BuildsApi, ChargeQuestion } from '../build-model/api.js';
import type { BuildEvent } from '../build-model/events.js';
import { buildImageInputs, toBuildImageParams } from '../inputs/build-image.js';
import { InputError } from '../util/errors.js';
import { buildResultShape } from './build-schemas.js';
import { buildLogLink, summarizeBuild, toBuildResult } from './build-result.js';
import { defineTool, type ConfirmQuestion, type ToolContext } from './tool.js';

export interface BuildImageToolDeps {
  builds: () => Promise<BuildsApi>;
  softDeadlineSeconds: number;
  /** Most log notifications per second a build sends a client, so a chatty build cannot flood it. */
  logMessagesPerSecond?: number;
  /** Longest silence between progress notifications while a call waits on a build (default 15 s). */
  heartbeatSeconds?: number;
}

/**
 * Keeps MCP progress strictly increasing across attempts (the protocol requires it): each attempt continues from
 * where the previous one stopped, and a started step counts as half done so its message is shown at once.
 */
export class ProgressCounter {
  private offset = 0;
  private attempt = 0;
  private last = -1;
  private total: number | undefined;
  /** Heartbeats since the last real step, and the value they climb from. */
  private beats = 0;
  private beatBase = 0;

  next(attempt: number, stepsDone: number, stepsTotal: number | undefined, started: boolean) {
    if (attempt !== this.attempt) {
      // Heartbeats before the first step stay below 0.5, under any real value of the first attempt.
      this.offset = this.attempt === 0 ? 0 : Math.ceil(Math.max(this.last, 0));
      this.attempt = attempt;
    }
    const value = this.offset + stepsDone + (started ? 0.5 : 0);
    if (value <= this.last) return undefined;
    this.last = value;
    this.beats = 0;
    this.beatBase = value;
    this.total = stepsTotal === undefined ? undefined : this.offset + stepsTotal;
    return { progress: value, total: this.total };
  }

  /**
   * A value for a heartbeat: above every value so far and below the next whole step, however many beats come
   * (each climbs half the remaining way less), so the next real step still counts as progress.
   */
  heartbeat() {
    this.beats++;
    const base = Math.max(this.beatBase, 0);
    const ceiling = Math.floor(base) + 1;
    const value = base + ((ceiling - base) / 2) * (this.beats / (this.beats + 1));
    this.last = value;
    // Past the last step (smoke testing, say) a beat would read above 100%: send it without a total then.
    return { progress: value, total: this.total !== undefined && value < this.total ? this.total : undefined };
  }

  /** The closing value when the build has ended: complete (progress equals total), unless it already was. */
  finish() {
    if (this.last < 0 || (this.total !== undefined && this.last === this.total)) return undefined;
    const value = Math.max(Math.ceil(this.last), this.total ?? 0);
    if (value <= this.last) return undefined;
    this.last = value;
    this.total = value;
    return { progress: value, total: value };
  }
}

function elapsed(since: number): string {
  const seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/** Forwards a build's events as MCP progress and throttled log notifications while the request is open. */
function forwardProgress(
  builds: BuildsApi,
  buildId: string,
  context: ToolContext,
  options: { perSecond: number; heartbeatMs: number; startedAt: number },
): (ended: boolean) => Promise<void> {
  let pending: string[] = [];
  let dropped = 0;
  let open = true;
  let lastSent = Date.now();
  let step = 'queued';
  const counter = new ProgressCounter();
  const send = (value: { progress: number; total?: number }, message: string) => {
    lastSent = Date.now();
    void context.progress(value.progress, value.total, message.slice(0, 200)).catch(() => undefined);
  };
  // Watchdogs count silence: a long quiet RUN still sends progress, with the step and the time it has taken.
  const heartbeat = setInterval(
    () => {
      if (!open || context.signal.aborted || Date.now() - lastSent < options.heartbeatMs) return;
      send(counter.heartbeat(), `${step} (running, ${elapsed(options.startedAt)} elapsed)`);
    },
    Math.min(options.heartbeatMs, 1000),
  );
  const flush = () => {
    if (!open || (pending.length === 0 && dropped === 0)) return;
    const lines = pending.join('\n') + (dropped > 0 ? `\n… ${dropped} more line(s) in the log file` : '');
    pending = [];
    dropped = 0;
    void context.log('info', lines).catch(() => undefined);
  };
  const timer = setInterval(flush, 1000 / options.perSecond);
  const unsubscribe = builds.subscribe(buildId, (event: BuildEvent, state) => {
    // Nothing goes out for a request that has answered or was cancelled (some clients drop the connection then).
    if (!open || context.signal.aborted) return;
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
      const value = counter.next(state.attempt, event.completedSteps, event.totalSteps, event.type === 'step-started');
      if (!value) return;
      const message =
        event.type === 'step-started' ? `attempt ${state.attempt}: ${event.instruction}` : state.progress.message;
      step = message;
      send(value, message);
    }
  });
  /** Stops forwarding; `ended` sends the closing progress first, so the last notification reads complete. */
  return async (ended: boolean) => {
    clearInterval(timer);
    clearInterval(heartbeat);
    await unsubscribe();
    if (!context.signal.aborted) {
      flush();
      const last = ended ? counter.finish() : undefined;
      if (last) send(last, 'finished');
    }
    open = false;
  };
}

/**
 * A cancellation whose reason says the client's own request timed out is the client giving up waiting, not asking to
 * stop: the build goes on (its id reached the client in the progress messages) and get_build_status follows it.
 */
export function isClientTimeout(reason: unknown): boolean {
  const text = reason instanceof Error ? reason.message : String(reason ?? '');
  return /timed?[ -]?out|timeout/i.test(text);
}

export function buildImageTool(deps: BuildImageToolDeps) {
  return defineTool({
    name: 'build_image',
    title: 'Build image',
    description:
      'Builds a Docker image from a Dockerfile: analyses and fixes PyTorch/CUDA conflicts first, builds with live progress, ' +
      'diagnoses a failed build from its log, fixes and retries (up to max_attempts), then smoke-tests the image. ' +
      'With wait (default) it returns when the build ends or, for long builds, after a short soft deadline with status ' +
      '"running": then call get_build_status with the build_id. The build runs in a worker process of its own: closing ' +
      'the client or restarting the server does not stop it; cancel_build or cancelling this request does. ' +
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
      const { confirm } = context;
      const started = await builds.start(
        toBuildImageParams(input),
        confirm ? { confirmCharges: (question) => confirm(chargesQuestion(question)) } : {},
      );
      if ('refused' in started) {
        return {
          isError: true,
          summary: `Cannot build (${started.mode}): ${started.message} Next: ${started.nextSteps.join(' ')}`,
        };
      }
      let record = started;
      if (input.wait) {
        const stopForwarding = forwardProgress(builds, record.build_id, context, {
          perSecond: deps.logMessagesPerSecond ?? 2,
          heartbeatMs: (deps.heartbeatSeconds ?? 15) * 1000,
          startedAt: Date.parse(record.created_at),
        });
        const onAbort = () => {
          if (!isClientTimeout(context.signal.reason)) void builds.cancel(record.build_id);
        };
        context.signal.addEventListener('abort', onAbort, { once: true });
        try {
          const softDeadlineMs = Math.min(deps.softDeadlineSeconds, input.timeout) * 1000;
          record = (await builds.waitForEnd(record.build_id, softDeadlineMs, context.signal)) ?? record;
        } finally {
          context.signal.removeEventListener('abort', onAbort);
          await stopForwarding(record.status === 'succeeded');
        }
      }
      const result = await toBuildResult(builds, record, input.tail_lines);
      const failed = result.status === 'failed' || result.status === 'interrupted';
      return { structured: result, summary: summarizeBuild(result), isError: failed, links: [buildLogLink(result)] };
    },
  });
}

/** The CodeBuild charges as a question for the user, every figure in the message. */
function chargesQuestion(question: ChargeQuestion): ConfirmQuestion {
  return {
    message:
      `Build on AWS CodeBuild? It bills your AWS account: ${question.estimate} ` +
      `(project ${question.project}, ${question.compute_type} ${question.environment_type}, region ${question.region}; ` +
      `prices from the ${question.source}). Decline and nothing is uploaded or started.`,
    accept: 'Start the CodeBuild build and accept the charges',
  };
}
