import { Command, Option } from 'commander';
import type { BuildImageParams } from '../build-model/api.js';
import type { Builds } from '../builds/builds.js';
import type { BuildEvent } from '../build-model/events.js';
import { nextStepFor } from '../build-model/next-step.js';
import type { BuildRecord } from '../build-model/record-schema.js';
import { DEFAULT_CODEBUILD_PROJECT, DEFAULT_REGION } from '../environment/aws-probe.js';
import { defaultImageName } from '../inputs/build-image.js';
import { InputError } from '../util/errors.js';
import { parseKeyValue, positiveInt } from './options.js';
import { note, printJson } from './output.js';

/** A CodeBuild build id: `project:uuid`. */
const CODEBUILD_ID = /^[\w-]+:[0-9a-f-]{36}$/;

/** The seed's JSON, plus what a script needs next. */
export function seedResult(record: BuildRecord) {
  return {
    success: record.status === 'succeeded',
    image_name: record.image_name,
    mode: record.mode,
    build_time: `${(record.build_time_seconds ?? 0).toFixed(1)}s`,
    attempts: record.attempt,
    fixes_applied: record.fixes_applied,
    build_id: record.build_id,
    status: record.status,
    error: record.error,
    smoke: record.smoke,
    image_id: record.image_id,
    log_file: record.log_file,
    next_step: nextStepFor(record),
  };
}

/** Progress for people on stderr: a rewritten line on a terminal, plain lines otherwise. */
function progressPrinter(verbose: boolean): (event: BuildEvent, record: BuildRecord) => void {
  const tty = process.stderr.isTTY === true;
  return (event, record) => {
    if (!verbose) return;
    if (event.type === 'step-started') {
      const total = record.progress.steps_total ? `/${record.progress.steps_total}` : '';
      const line = `[${record.progress.steps_done}${total}] ${event.instruction}`.slice(
        0,
        (process.stderr.columns ?? 120) - 1,
      );
      process.stderr.write(tty ? `\r\u001b[2K${line}` : `${line}\n`);
    } else if (event.type === 'step-failed') {
      process.stderr.write(`${tty ? '\n' : ''}step failed: ${event.message}\n`);
    } else if (event.type === 'build-finished' && tty) {
      process.stderr.write('\n');
    }
  };
}

export function addBuildCommands(
  program: Command,
  builds: () => Promise<Builds>,
  setExitCode: (code: number) => void,
): void {
  program
    .command('build')
    .description(
      'Build an image: analyse and fix, build with progress, diagnose and retry, smoke-test. Prints the seed JSON.',
    )
    .addOption(new Option('--force-local', 'use local Docker only (fail if unavailable)').conflicts('forceCodebuild'))
    .addOption(new Option('--force-codebuild', 'use AWS CodeBuild (charges apply)').conflicts('forceLocal'))
    .option('--context <dir>', 'build context path', '.')
    .option('--dockerfile <path>', 'Dockerfile path relative to the context', 'Dockerfile')
    .option('--image-name <name>', 'image name (default: the context folder name)')
    .option('--image-tag <tag>', 'image tag', 'latest')
    .option('--auto-fix', 'fix conflicts automatically (default)', true)
    .option('--no-auto-fix', 'do not fix anything')
    .option('--fix-before-build', 'apply analysis fixes before the first attempt (default)', true)
    .option('--no-fix-before-build', 'only fix what a failed build log shows')
    .option('--smoke-test', 'smoke-test the image (default)', true)
    .option('--no-smoke-test', 'skip the smoke test')
    .option(
      '--smoke-command <command>',
      'extra command the smoke test runs in the image (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--max-attempts <n>', 'most build attempts', positiveInt('max-attempts', 10), 3)
    .option('--base-image <image>', 'override the base image of the final stage')
    .option('--use-sudo', 'run docker through sudo -n', false)
    .option('--build-arg <KEY=VALUE>', 'build argument (repeatable)', parseKeyValue('build-arg'))
    .option('--label <KEY=VALUE>', 'image label (repeatable)', parseKeyValue('label'))
    .option('--target <stage>', 'stage to build')
    .option('--platform <platform>', 'target platform, e.g. linux/amd64')
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'always pull newer base images', false)
    .option('--write-fixes', 'write fixes into your files (atomically, with a backup)', false)
    .option('--codebuild-project <name>', 'CodeBuild project', DEFAULT_CODEBUILD_PROJECT)
    .option('--s3-bucket <bucket>', 'S3 bucket for the CodeBuild source (default: auto-generated)')
    .option('--region <region>', `AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, profile, ${DEFAULT_REGION})`)
    .option('--wait', 'wait for completion (default)', true)
    .option('--no-wait', 'CodeBuild: start the build and print its id (project:uuid) at once; local builds always wait')
    .option('--timeout <seconds>', 'build timeout in seconds', positiveInt('timeout', 8 * 3600), 3600)
    .option('--verbose', 'progress on stderr (default)', true)
    .option('--quiet', 'no progress on stderr')
    .action(async (options) => {
      const api = await builds();
      const params: BuildImageParams = {
        context: options.context,
        dockerfile: options.dockerfile,
        imageName: options.imageName ?? defaultImageName(options.context),
        imageTag: options.imageTag,
        autoFix: options.autoFix,
        fixBeforeBuild: options.fixBeforeBuild,
        smokeTest: options.smokeTest,
        smokeCommands: options.smokeCommand ?? [],
        maxAttempts: options.maxAttempts,
        baseImage: options.baseImage,
        useSudo: options.useSudo,
        forceLocal: options.forceLocal ?? false,
        forceCodebuild: options.forceCodebuild ?? false,
        buildArgs: options.buildArg ?? {},
        target: options.target,
        platform: options.platform,
        noCache: options.cache === false,
        pull: options.pull,
        labels: options.label ?? {},
        writeFixes: options.writeFixes,
        timeoutSeconds: options.timeout,
        region: options.region,
        codebuildProject: options.codebuildProject,
        s3Bucket: options.s3Bucket,
      };
      if (options.wait === false) {
        const detached = await api.startDetached(params);
        if ('refused' in detached) {
          printJson({ success: false, mode: detached.mode, error: detached.message, next_steps: detached.nextSteps });
          note(`error: ${detached.message}`);
          setExitCode(1);
          return;
        }
        if (detached.mode === 'codebuild') {
          for (const warning of detached.warnings) note(`warning: ${warning}`);
          const id = detached.launch.codebuildBuildId;
          printJson({
            success: null,
            status: 'running',
            image_name: `${params.imageName}:${params.imageTag}`,
            mode: 'codebuild',
            build_id: id,
            console_url: detached.launch.consoleUrl,
            cost_estimate: detached.launch.costEstimate,
            next_step: `docker-image-builder status ${id}`,
          });
          return;
        }
        note('Local builds run in this process, so this one is waited for (--no-wait applies to CodeBuild).');
      }
      const started = await api.start(params);
      if ('refused' in started) {
        printJson({ success: false, mode: started.mode, error: started.message, next_steps: started.nextSteps });
        note(`error: ${started.message}\n${started.nextSteps.map((step) => `next: ${step}`).join('\n')}`);
        setExitCode(1);
        return;
      }
      const verbose = options.verbose && !options.quiet;
      for (const warning of started.warnings ?? []) note(`warning: ${warning}`);
      if (verbose)
        note(`build ${started.build_id} (${started.mode}): ${started.image_name} (log: ${started.log_file})`);
      const unsubscribe = api.subscribe(started.build_id, progressPrinter(verbose));
      const cancel = () => void api.cancel(started.build_id);
      process.once('SIGINT', cancel);
      const record = (await api.waitForEnd(started.build_id, params.timeoutSeconds * 1000 + 60_000)) ?? started;
      process.off('SIGINT', cancel);
      unsubscribe();
      printJson(seedResult(record));
      if (verbose) note(`${record.status}: ${nextStepFor(record)}`);
      setExitCode(record.status === 'succeeded' ? 0 : 1);
    });

  program
    .command('status')
    .description('Print a build record with the last log lines.')
    .argument('<build-id>', 'build id printed by `build`')
    .option('--tail-lines <n>', 'log lines to include', positiveInt('tail-lines', 500), 40)
    .option('--region <region>', 'AWS region of a CodeBuild build id (default: AWS_REGION, then us-west-2)')
    .action(async (buildId: string, options) => {
      const api = await builds();
      const record = await api.get(buildId);
      if (!record && CODEBUILD_ID.test(buildId)) {
        // A CodeBuild build started with --no-wait (or elsewhere): ask CodeBuild.
        const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
        const { status, logTail } = await api.codebuildStatus(buildId, region);
        printJson({ build_id: buildId, mode: 'codebuild', ...status, log_tail: logTail });
        setExitCode(status.status === 'SUCCEEDED' ? 0 : 1);
        return;
      }
      if (!record)
        throw new InputError('build-id', `no build "${buildId}" is known here`, 'See the ids printed by `build`.');
      printJson({ ...seedResult(record), record, log_tail: await api.logTail(record, options.tailLines) });
      setExitCode(record.status === 'succeeded' ? 0 : 1);
    });

  program
    .command('smoke-test')
    .description('Smoke-test an image: start, imports, versions, CUDA (when a GPU runtime exists), your commands.')
    .argument('<image>', 'local image reference')
    .option(
      '--command <command>',
      'command to run in the image (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .addOption(new Option('--gpu <mode>', 'attach GPUs').choices(['auto', 'on', 'off']).default('auto'))
    .option('--timeout <seconds>', 'limit per container', positiveInt('timeout', 3600), 180)
    .option('--use-sudo', 'run docker through sudo -n', false)
    .action(async (image: string, options) => {
      const api = await builds();
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const result = await api.smokeTest(
        {
          image,
          commands: options.command,
          gpu: options.gpu,
          timeout_seconds: options.timeout,
          useSudo: options.useSudo,
        },
        controller.signal,
      );
      printJson(result);
      setExitCode(result.passed ? 0 : 1);
    });

  program
    .command('cancel')
    .description('Cancel a build running in this process (local builds run in the process that started them).')
    .argument('<build-id>', 'build id')
    .action(async (buildId: string) => {
      const api = await builds();
      const record = await api.get(buildId);
      if (!record)
        throw new InputError('build-id', `no build "${buildId}" is known here`, 'See the ids printed by `build`.');
      const cancelled = await api.cancel(buildId);
      if (!cancelled && (record.status === 'running' || record.status === 'queued')) {
        note(
          'That build runs in another process (an MCP server or another CLI); cancel it there (cancel_build or Ctrl-C).',
        );
      }
      printJson({ build_id: buildId, cancelled, status: (await api.get(buildId))?.status ?? record.status });
      setExitCode(cancelled ? 0 : 1);
    });
}
