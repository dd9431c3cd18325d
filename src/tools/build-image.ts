import { z } from 'zod';
import type { BuildsApi } from '../build-model/api.js';
import type { BuildEvent } from '../build-model/events.js';
import { DEFAULT_CODEBUILD_PROJECT } from '../environment/aws-probe.js';
import { defaultImageName } from '../inputs/image-name.js';
import { InputError } from '../util/errors.js';
import { buildResultShape } from './build-schemas.js';
import { summarizeBuild, toBuildResult } from './build-result.js';
import { sourceFields } from './source-fields.js';
import { defineTool, type ToolContext } from './tool.js';

export interface BuildImageToolDeps {
  builds: () => Promise<BuildsApi>;
  softDeadlineSeconds: number;
  /** Most log notifications per second a build sends a client, so a chatty build cannot flood it. */
  logMessagesPerSecond?: number;
}

const stringRecord = z.record(z.string(), z.string());

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
    inputSchema: {
      context: sourceFields.context,
      dockerfile: sourceFields.dockerfile,
      image_name: z
        .string()
        .min(1)
        .optional()
        .describe('Image name without tag. Default: the context folder name made into a valid reference.'),
      image_tag: z.string().min(1).max(128).default('latest').describe('Image tag.'),
      auto_fix: z
        .boolean()
        .default(true)
        .describe('Fix known conflicts automatically: before building and after a failed attempt.'),
      fix_before_build: z
        .boolean()
        .default(true)
        .describe(
          'Apply analyze_dockerfile fixes before the first attempt; false builds the file as written and only fixes what a failed build log shows.',
        ),
      smoke_test: z.boolean().default(true).describe('Smoke-test the image after a successful build.'),
      smoke_commands: z
        .array(z.string().min(1))
        .max(20)
        .default([])
        .describe('Extra shell commands the smoke test runs inside the image; each must exit 0.'),
      max_attempts: z
        .number()
        .int()
        .min(1)
        .max(10)
        .default(3)
        .describe('Most build attempts (the first plus retries after fixes).'),
      base_image: sourceFields.base_image,
      use_sudo: z.boolean().default(false).describe('Run docker through `sudo -n` (see detect_environment).'),
      force_local: z.boolean().default(false).describe('Build with local Docker only; fail instead of falling back.'),
      force_codebuild: z
        .boolean()
        .default(false)
        .describe('Build in AWS CodeBuild even when Docker is available (charges apply).'),
      wait: z
        .boolean()
        .default(true)
        .describe('Wait for the build (up to the soft deadline); false returns the build_id at once.'),
      timeout: z
        .number()
        .int()
        .min(30)
        .max(8 * 3600)
        .default(3600)
        .describe('Build timeout in seconds; the build is stopped after it.'),
      build_args: sourceFields.build_args,
      target: z.string().min(1).optional().describe('Stage to build (--target).'),
      platform: z.string().min(1).optional().describe('Target platform, e.g. linux/amd64 (--platform).'),
      no_cache: z.boolean().default(false).describe('Do not use the build cache (--no-cache).'),
      pull: z.boolean().default(false).describe('Always try to pull newer base images (--pull).'),
      labels: stringRecord.default({}).describe('Image labels (--label KEY=VALUE).'),
      write_fixes: z
        .boolean()
        .default(false)
        .describe('Also write the fixes into your Dockerfile and requirement files (atomically, with a .bak backup).'),
      region: z.string().min(1).optional().describe('AWS region, used when the build would go to CodeBuild.'),
      codebuild_project: z
        .string()
        .min(1)
        .default(DEFAULT_CODEBUILD_PROJECT)
        .describe('CodeBuild project, used when the build would go to CodeBuild.'),
      s3_bucket: z
        .string()
        .min(3)
        .max(63)
        .optional()
        .describe(
          'S3 bucket for the CodeBuild source zip. Default: docker-image-builder-<account>-<region>, created when missing.',
        ),
      tail_lines: z.number().int().min(0).max(500).default(40).describe('How many last log lines the result carries.'),
    },
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
      const started = await builds.start({
        context: input.context,
        dockerfile: input.dockerfile,
        imageName: input.image_name ?? defaultImageName(input.context),
        imageTag: input.image_tag,
        autoFix: input.auto_fix,
        fixBeforeBuild: input.fix_before_build,
        smokeTest: input.smoke_test,
        smokeCommands: input.smoke_commands,
        maxAttempts: input.max_attempts,
        baseImage: input.base_image,
        useSudo: input.use_sudo,
        forceLocal: input.force_local,
        forceCodebuild: input.force_codebuild,
        buildArgs: input.build_args,
        target: input.target,
        platform: input.platform,
        noCache: input.no_cache,
        pull: input.pull,
        labels: input.labels,
        writeFixes: input.write_fixes,
        timeoutSeconds: input.timeout,
        region: input.region,
        codebuildProject: input.codebuild_project,
        s3Bucket: input.s3_bucket,
      });
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
