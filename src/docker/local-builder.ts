import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BuildEvent, BuildEventListener } from '../build-model/events.js';
import { redactDeep, redactor } from '../util/redact.js';
import { looksLikeSecretName } from '../util/secret-names.js';
import {
  buildArgEnv,
  builderEnv,
  dockerBuildArgs,
  validateImageRef,
  type DockerBuildOptions,
  type LocalBuilderKind,
} from './build-args.js';
import type { DockerClient } from './client.js';
import { planBuildSteps, type BuildPlan } from './dockerfile-steps.js';
import { createOutputParser } from './output/output-parser.js';
import type { FailedStep } from './output/parser-common.js';
import type { ProcessExit, SpawnedProcess } from './process-spawner.js';

/**
 * A build's options; the builder and BuildKit's progress mode are the DockerClient's (`invocation.builder`,
 * `invocation.progress`), decided with the rest of the invocation.
 */
export interface LocalBuildOptions extends Omit<DockerBuildOptions, 'builder' | 'progress'> {
  /** Where the full build output is written (created or replaced; parent directories are created). */
  logFile: string;
  /** Overall limit for the build; the build is stopped when it passes. Default one hour (the seed's `--timeout 3600`). */
  timeoutMs?: number;
  /** The Dockerfile's text, for step totals and line mapping; read from `dockerfilePath` when omitted. */
  dockerfileText?: string;
  /** Append to `logFile` instead of replacing it (the builds of one attempt for several platforms share one log). */
  appendLog?: boolean;
}

export interface LocalBuildControl {
  onEvent?: BuildEventListener;
  /** Aborting stops the build: the docker client is signalled, which makes the daemon cancel the build. */
  signal?: AbortSignal;
}

export interface LocalBuildResult {
  success: boolean;
  builder: LocalBuilderKind;
  /** Exit code of the docker client; undefined when it was ended by a signal or could not start. */
  exitCode?: number;
  /** `sha256:...` from `--iidfile`. */
  imageId?: string;
  /** The Dockerfile step that failed, with its line when it could be mapped. */
  failedStep?: FailedStep;
  /** The builder's last error text (or why docker could not run); absent on success. */
  errorMessage?: string;
  durationMs: number;
  logFile: string;
  cancelled: boolean;
  timedOut: boolean;
  totalSteps?: number;
  completedSteps: number;
  cachedSteps: number;
  warnings: string[];
}

export interface ImageInfo {
  /** `sha256:...` */
  id: string;
  sizeBytes: number;
  repoTags: string[];
  created?: string;
}

export interface ImageInfoOptions {
  timeoutMs?: number;
}

export interface LocalDockerBuilderDeps {
  /** Every docker call (the build, cleanup after a cancel, `image inspect`) goes through it; it needs a spawner. */
  docker: DockerClient;
  now?: () => number;
  /** How long a stopped build may take to exit after SIGTERM before it gets SIGKILL. */
  killGraceMs?: number;
  /** Where env secrets (`{id, env}`) are read from, to hand them to docker's environment; none without it. */
  env?: NodeJS.ProcessEnv;
}

/** Secret files larger than this are not read for redaction (a key or token file is far smaller). */
const MAX_REDACTED_FILE_BYTES = 64 * 1024;

const DEFAULT_TIMEOUT_MS = 60 * 60 * 1000;
const DEFAULT_KILL_GRACE_MS = 5_000;

async function readDockerfile(options: LocalBuildOptions): Promise<string | undefined> {
  if (options.dockerfileText !== undefined) return options.dockerfileText;
  try {
    return await readFile(path.resolve(path.resolve(options.contextDir), options.dockerfilePath), 'utf8');
  } catch {
    return undefined; // docker reports the missing Dockerfile itself, in its own words
  }
}

function planFor(
  options: LocalBuildOptions,
  builder: LocalBuilderKind,
  dockerfileText: string | undefined,
): BuildPlan | undefined {
  if (dockerfileText === undefined) return undefined;
  return planBuildSteps(dockerfileText, {
    builder,
    buildArgs: options.buildArgs,
    hasLabels: Object.keys(options.labels).length > 0,
    ...(options.target === undefined ? {} : { target: options.target }),
  });
}

async function readSmallFile(file: string): Promise<string | undefined> {
  try {
    const buffer = await readFile(file);
    return buffer.length <= MAX_REDACTED_FILE_BYTES ? buffer.toString('utf8') : undefined;
  } catch {
    return undefined; // docker reports an unreadable secret file itself
  }
}

interface LegacyStep {
  /** Image the current step runs on (the last ` ---> <id>` line). */
  parentImage?: string;
  /** The current RUN step's command, as the container's command shows it. */
  runCommand?: string;
  /** The current step's container, once `Running in <id>` was printed. */
  container?: string;
}

function trackLegacyStep(step: LegacyStep, line: string): void {
  const running = /^ ---> Running in ([0-9a-f]{12,64})\s*$/.exec(line);
  if (running) {
    step.container = running[1];
    return;
  }
  const image = /^ ---> ([0-9a-f]{12,64})\s*$/.exec(line);
  if (image) step.parentImage = image[1];
  const stepLine = /^Step \d+\/\d+ : (\w+)\s*(.*)$/.exec(line);
  if (stepLine) {
    step.container = undefined;
    step.runCommand = stepLine[1]!.toUpperCase() === 'RUN' ? stepLine[2] : undefined;
  }
}

/** Runs `docker build` on this machine with live events, a full log on disk, cancellation and a timeout. */
export class LocalDockerBuilder {
  private readonly docker: DockerClient;
  private readonly now: () => number;
  private readonly killGraceMs: number;

  constructor(deps: LocalDockerBuilderDeps) {
    this.docker = deps.docker;
    this.now = deps.now ?? (() => performance.now());
    this.killGraceMs = deps.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.env = deps.env ?? {};
  }

  private readonly env: NodeJS.ProcessEnv;

  /**
   * The values docker gets through its environment only (build-arg values, env secrets), and the function that
   * removes every secret value (those, secret files' contents, secret-looking build args) from the build's output.
   */
  private async secretHandling(
    options: LocalBuildOptions,
  ): Promise<{ privateEnv: Record<string, string>; redact: (text: string) => string }> {
    const privateEnv = buildArgEnv(options.buildArgs, options.valueInArgv);
    const hidden = Object.entries(options.buildArgs)
      .filter(([name]) => looksLikeSecretName(name))
      .map(([, value]) => value);
    for (const secret of options.secrets ?? []) {
      if ('env' in secret) {
        const value = this.env[secret.env];
        if (value === undefined) continue; // docker names the missing variable itself
        privateEnv[secret.env] = value;
        hidden.push(value);
      } else {
        const text = await readSmallFile(secret.src);
        if (text !== undefined) hidden.push(text);
      }
    }
    return { privateEnv, redact: redactor(hidden) };
  }

  async build(options: LocalBuildOptions, control: LocalBuildControl = {}): Promise<LocalBuildResult> {
    const iidFile = path.resolve(options.iidFile ?? `${options.logFile}.iid`);
    const builder = this.docker.invocation.builder;
    // The progress mode was decided with the invocation; the parser reads what that mode prints.
    const progress = builder === 'buildkit' ? (this.docker.invocation.progress ?? 'plain') : undefined;
    const buildxBuilder = this.docker.invocation.buildxBuilder;
    const args = dockerBuildArgs({
      ...options,
      builder,
      iidFile,
      ...(progress ? { progress } : {}),
      ...(buildxBuilder ? { buildxBuilder } : {}),
    });
    const extraEnv = builderEnv(builder);
    const { privateEnv, redact } = await this.secretHandling(options);
    const started = this.now();
    const plan = planFor(options, builder, await readDockerfile(options));
    const parser = createOutputParser(builder, { plan, now: this.now, ...(progress ? { progress } : {}) });

    let listenerError: unknown;
    let child: SpawnedProcess | undefined;
    const emit = (event: BuildEvent) => {
      try {
        control.onEvent?.(event);
      } catch (error) {
        // A broken listener must not leave docker running: stop the build, report the error afterwards.
        listenerError ??= error;
        stop();
      }
    };

    await mkdir(path.dirname(path.resolve(options.logFile)), { recursive: true });
    await rm(iidFile, { force: true });
    const log = createWriteStream(options.logFile, { encoding: 'utf8', flags: options.appendLog ? 'a' : 'w' });
    // A log that cannot be written (a full or read-only disk) stops the build: it is thrown, errno intact, once
    // docker has exited, so the caller fails this build alone.
    let logError: NodeJS.ErrnoException | undefined;
    const logClosed = new Promise<void>((resolve) => {
      log.once('close', resolve);
      log.on('error', (error: NodeJS.ErrnoException) => {
        logError ??= error;
        stop();
        resolve();
      });
    });

    let cancelled = false;
    let timedOut = false;
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGraceMs = this.killGraceMs;
    // SIGTERM makes the client cancel the build on the daemon (both builders); SIGKILL only if it hangs.
    function stop() {
      if (stopping || !child) return;
      stopping = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child?.kill('SIGKILL'), killGraceMs);
      killTimer.unref();
    }
    const onAbort = () => {
      cancelled = true;
      stop();
    };

    emit({
      type: 'build-started',
      builder,
      imageRef: options.imageRef,
      logFile: options.logFile,
      ...(plan ? { totalSteps: plan.totalSteps } : {}),
    });

    // The legacy builder's current step: its container is removed by the daemon after a cancel, but only a second
    // or two later, and it may not even exist yet when the client is stopped; a stopped build removes it itself.
    const legacyStep: LegacyStep = {};
    let exit: ProcessExit;
    if (control.signal?.aborted) {
      cancelled = true;
      exit = {};
    } else {
      let exited = false;
      child = this.docker.spawn(args, {
        extraEnv,
        privateEnv,
        onLine: (raw, stream) => {
          if (exited) return;
          // Before anything reads the line: no secret value reaches the log file, the events or the record.
          const line = redact(raw);
          trackLegacyStep(legacyStep, line);
          // rawjson carries a step's output base64-encoded: the parsed events are redacted too.
          for (const event of parser.push(line, stream).map((parsed) => redactDeep(parsed, redact))) {
            if (event.type === 'log' && logError === undefined) log.write(`${event.line}\n`);
            // The image id is announced once, from the iid file, after the process has exited.
            if (event.type !== 'image-built') emit(event);
          }
        },
      });
      control.signal?.addEventListener('abort', onAbort, { once: true });
      if (control.signal?.aborted) onAbort(); // aborted while the process was being started
      const timeout = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      exit = await child.exited;
      exited = true;
      clearTimeout(timeout);
      clearTimeout(killTimer);
      control.signal?.removeEventListener('abort', onAbort);
    }

    if ((cancelled || timedOut) && builder === 'legacy') await this.removeStepContainer(legacyStep);
    for (const event of parser.end(cancelled || timedOut ? undefined : exit.exitCode)) emit(redactDeep(event, redact));
    const summary = redactDeep(parser.summary(), redact);
    const success = exit.exitCode === 0 && !cancelled && !timedOut;
    let imageId: string | undefined;
    if (success) {
      imageId = (await readFile(iidFile, 'utf8').catch(() => '')).trim() || summary.imageId;
      if (imageId) emit({ type: 'image-built', imageId });
    }
    log.end();
    await logClosed;
    if (logError !== undefined) throw logError;

    const durationMs = Math.round(this.now() - started);
    let errorMessage: string | undefined;
    if (!success) {
      if (exit.spawnError !== undefined) {
        errorMessage = `could not run ${this.docker.command(args, extraEnv).command}: ${exit.spawnError}`;
      } else if (timedOut)
        errorMessage = `build stopped after the ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms timeout`;
      else if (cancelled) errorMessage = 'build cancelled';
      else errorMessage = summary.errorMessage ?? `docker build exited with code ${String(exit.exitCode)}`;
    }
    emit({
      type: 'build-finished',
      success,
      durationMs,
      cancelled,
      timedOut,
      ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }),
      ...(imageId ? { imageId } : {}),
    });
    if (listenerError !== undefined) throw listenerError;

    return {
      success,
      builder,
      ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }),
      ...(imageId ? { imageId } : {}),
      ...(summary.failedStep && !success && !cancelled && !timedOut ? { failedStep: summary.failedStep } : {}),
      ...(errorMessage === undefined ? {} : { errorMessage }),
      durationMs,
      logFile: options.logFile,
      cancelled,
      timedOut,
      ...(summary.totalSteps === undefined ? {} : { totalSteps: summary.totalSteps }),
      completedSteps: summary.completedSteps,
      cachedSteps: summary.cachedSteps,
      warnings: summary.warnings,
    };
  }

  /**
   * Removes a stopped legacy RUN step's container: the one named by "Running in", or, when the client was stopped
   * before that line, the container the daemon still creates from the parent image for that command.
   */
  private async removeStepContainer(step: LegacyStep): Promise<void> {
    if (!step.runCommand && !step.container) return;
    const run = (args: string[]) => this.docker.run(args, { timeoutMs: 15_000 });
    const filter = step.parentImage ? ['--filter', `ancestor=${step.parentImage}`] : [];
    let quietRounds = 0;
    for (let round = 0; round < 40 && quietRounds < 4; round++) {
      const listed = await run(['ps', '-a', '--no-trunc', ...filter, '--format', '{{.ID}}\t{{.Command}}']);
      const ids = listed.stdout
        .split('\n')
        .map((line) => line.split('\t'))
        .filter(
          ([id, command]) =>
            id && (id.startsWith(step.container ?? '\0') || (step.runCommand && command?.includes(step.runCommand))),
        )
        .map(([id]) => id!);
      if (ids.length === 0) quietRounds++;
      else await run(['rm', '-f', ...ids]);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Id, size and tags of a local image; undefined when no such image exists. Throws when docker itself fails. */
  async imageInfo(imageRef: string, options: ImageInfoOptions = {}): Promise<ImageInfo | undefined> {
    validateImageRef(imageRef);
    const result = await this.docker.run(['image', 'inspect', '--format', '{{json .}}', imageRef], {
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    if (result.exitCode !== 0) {
      if (/no such image/i.test(result.stderr)) return undefined;
      const reason = result.timedOut
        ? 'timed out'
        : result.notFound
          ? `${result.command} not found`
          : result.stderr.trim();
      throw new Error(`docker image inspect ${imageRef} failed: ${reason}`);
    }
    const image = JSON.parse(result.stdout) as {
      Id: string;
      Size: number;
      RepoTags?: string[] | null;
      Created?: string;
    };
    return {
      id: image.Id,
      sizeBytes: image.Size,
      repoTags: image.RepoTags ?? [],
      ...(image.Created ? { created: image.Created } : {}),
    };
  }
}
