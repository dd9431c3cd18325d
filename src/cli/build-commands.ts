import type { Command } from 'commander';
import type { BuildImageParams, BuildProgressState } from '../build-model/api.js';
import type { Builds } from '../builds/builds.js';
import type { BuildEvent } from '../build-model/events.js';
import { nextStepFor } from '../build-model/next-step.js';
import type { BuildRecord } from '../build-model/record-schema.js';
import { buildImageInputs, toBuildImageParams } from '../inputs/build-image.js';
import { cancelBuildInputs, getBuildStatusInputs } from '../inputs/builds.js';
import { addInputs, inputFromCli } from '../inputs/cli.js';
import { smokeTestInputs, toSmokeTestInput } from '../inputs/smoke-test.js';
import { InputError } from '../util/errors.js';
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
    ...(record.platform_build ? { platform_build: record.platform_build } : {}),
    ...(record.push ? { push: record.push } : {}),
    log_file: record.log_file,
    ...(record.warnings?.length ? { warnings: record.warnings } : {}),
    next_step: nextStepFor(record),
  };
}

/** Progress for people on stderr: a rewritten line on a terminal, plain lines otherwise. */
function progressPrinter(verbose: boolean): (event: BuildEvent, state: BuildProgressState) => void {
  const tty = process.stderr.isTTY === true;
  return (event, state) => {
    if (!verbose) return;
    if (event.type === 'step-started') {
      const total = state.progress.steps_total ? `/${state.progress.steps_total}` : '';
      const line = `[${state.progress.steps_done}${total}] ${event.instruction}`.slice(
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
  const build = program
    .command('build')
    .description(
      'Build an image: analyse and fix, build with progress, diagnose and retry, smoke-test. Prints the result JSON (success, image_name, mode, build_time, attempts, fixes_applied, build_id, status).',
    );
  addInputs(build, buildImageInputs)
    .option('--verbose', 'progress on stderr (default)', true)
    .option('--quiet', 'no progress on stderr')
    .action(async (options, command: Command) => {
      const input = inputFromCli(buildImageInputs, command);
      const api = await builds();
      const params: BuildImageParams = toBuildImageParams(input);
      if (input.wait === false) {
        const detached = await api.startDetached(params);
        if ('refused' in detached) {
          printJson({ success: false, mode: detached.mode, error: detached.message, next_steps: detached.nextSteps });
          note(`error: ${detached.message}`);
          setExitCode(1);
          return;
        }
        if (detached.mode === 'local') {
          const record = detached.record;
          printJson({
            success: null,
            status: record.status,
            image_name: record.image_name,
            mode: 'local',
            build_id: record.build_id,
            log_file: record.log_file,
            next_step: `docker-image-builder status ${record.build_id}`,
          });
          setExitCode(record.status === 'failed' ? 1 : 0);
          return;
        }
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
      // Ctrl-C stops the build this command waits on; closing the terminal leaves it running in its worker.
      const cancel = () => void api.cancel(started.build_id);
      process.once('SIGINT', cancel);
      const record = (await api.waitForEnd(started.build_id, params.timeoutSeconds * 1000 + 60_000)) ?? started;
      process.off('SIGINT', cancel);
      await unsubscribe();
      printJson(seedResult(record));
      if (verbose) note(`${record.status}: ${nextStepFor(record)}`);
      setExitCode(record.status === 'succeeded' ? 0 : 1);
    });

  const status = program.command('status').description('Print a build record with the last log lines.');
  addInputs(status, getBuildStatusInputs)
    .option('--region <region>', 'AWS region of a CodeBuild build id (default: AWS_REGION, then us-west-2)')
    .action(async (_buildId: string, options, command: Command) => {
      const input = inputFromCli(getBuildStatusInputs, command);
      const buildId = input.build_id;
      const api = await builds();
      const known = await api.get(buildId);
      // As get_build_status: with wait_seconds, wait for the status or phase to change.
      const record =
        known && input.wait_seconds > 0
          ? ((await api.waitForChange(known.build_id, input.wait_seconds * 1000)) ?? known)
          : known;
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
      printJson({ ...seedResult(record), record, log_tail: await api.logTail(record, input.tail_lines) });
      setExitCode(record.status === 'succeeded' ? 0 : 1);
    });

  const smoke = program
    .command('smoke-test')
    .description('Smoke-test an image: start, imports, versions, CUDA (when a GPU runtime exists), your commands.')
    .action(async (_image: string, _options, command: Command) => {
      const input = inputFromCli(smokeTestInputs, command);
      const api = await builds();
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const result = await api.smokeTest(toSmokeTestInput(input), controller.signal);
      printJson(result);
      setExitCode(result.passed ? 0 : 1);
    });
  addInputs(smoke, smokeTestInputs);

  const cancel = program
    .command('cancel')
    .description('Cancel a running build, whichever server or CLI on this machine started it.')
    .action(async (_buildId: string, _options, command: Command) => {
      const buildId = inputFromCli(cancelBuildInputs, command).build_id;
      const api = await builds();
      const record = await api.get(buildId);
      if (!record)
        throw new InputError('build-id', `no build "${buildId}" is known here`, 'See the ids printed by `build`.');
      const cancelled = await api.cancel(buildId);
      if (!cancelled) note(`Build ${buildId} was not running (status ${record.status}); nothing to cancel.`);
      printJson({ build_id: buildId, cancelled, status: (await api.get(buildId))?.status ?? record.status });
      setExitCode(cancelled ? 0 : 1);
    });
  addInputs(cancel, cancelBuildInputs);
}
