import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { DEFAULT_REGION, probeAws } from '../environment/aws-probe.js';
import { daemonStateInWords, probeDocker, type DockerStatus } from '../environment/docker-probe.js';
import { CODEBUILD_CHARGES_WARNING, FALLBACK_MESSAGE, NEITHER_AVAILABLE_MESSAGE } from '../environment/recommend.js';
import type { SmokeResult } from '../build-model/smoke-schema.js';
import { SmokeTester } from '../smoke/smoke-tester.js';
import type { CommandRunner } from '../util/command-runner.js';
import { contextPath, outsideContextError } from '../util/context-path.js';
import { InputError } from '../util/errors.js';
import { pathExists } from '../util/atomic-write.js';
import { readLogTail } from '../util/log-tail.js';
import type {
  BuildImageParams,
  BuildListing,
  BuildRefusal,
  BuildStartOptions,
  BuildsApi,
  ChargeQuestion,
} from '../build-model/api.js';
import type { BuildRequest } from '../build-model/attempt.js';
import { TERMINAL_STATUSES } from '../build-model/record-schema.js';
import { removeSmokeContainers } from '../smoke/smoke-tester.js';
import { newBuildRecord } from './build-service.js';
import { followEventLog } from './event-log.js';
import type { TargetSpec } from './job.js';
import { currentProcessIdentity } from './process-identity.js';
import { dockerClientOf, smokeRunIdFor } from './target-ports.js';
import type { WorkerLauncher } from './worker-launcher.js';
import type { CodeBuildLaunch, CodeBuildRunner } from '../codebuild/codebuild-runner.js';
import type { BuildEvent } from '../build-model/events.js';
import type { BuildProgressState } from '../build-model/api.js';
import { prepareSources } from './fixes.js';
import { checkPushInput, targetProblem } from './push-cache-checks.js';
import {
  jobRequest,
  localSecrets,
  resolveSecretInputs,
  secretBuildArgWarnings,
  secretTargetProblem,
} from './secret-checks.js';
import { cacheSpecText, parseCacheSpec } from '../docker/cache-args.js';
import { dockerBuildArgs, validateImageRef } from '../docker/build-args.js';
import { localImagePlatforms } from '../docker/platforms.js';
import { DockerClient, dockerInvocationFor } from '../docker/client.js';
import { ExecaProcessSpawner } from '../docker/process-spawner.js';
import type { BuildRecord } from '../build-model/record-schema.js';
import { BuildRecordStore, interruptedRecord } from './record-store.js';
import { chargeQuestion, chargesDeclined } from './charges.js';

export interface BuildsDeps {
  config: Config;
  env: NodeJS.ProcessEnv;
  runner: CommandRunner;
  /** Starts the detached process that runs a build (the server and the CLI only read its record afterwards). */
  launcher: WorkerLauncher;
  /** How often waiters look at a running build's record. */
  pollMs?: number;
}

/** Where a build was decided to run, with what its record shows about that choice. */
interface ChosenTarget {
  spec: TargetSpec;
  region?: string;
  warnings: string[];
  /** For CodeBuild: what the build will be charged, to ask about before anything starts. */
  charges?: ChargeQuestion;
}

const DOCKER_STATUS_TTL_MS = 60_000;

/** The builder's option names, as the MCP tools and the CLI call them. */
const FIELD_NAMES: Record<string, string> = { imageRef: 'image_name', buildArgs: 'build_args', labels: 'labels' };

function toToolField(error: InputError): InputError {
  const [head, ...rest] = error.field.split('.');
  const field = [FIELD_NAMES[head!] ?? head, ...rest].join('.');
  return new InputError(field, error.message.slice(error.message.indexOf(':') + 2), error.hint);
}

async function resolveSources(params: BuildImageParams): Promise<{ contextDir: string; dockerfile: string }> {
  const contextDir = path.resolve(params.context);
  const contextStat = await stat(contextDir).catch(() => undefined);
  if (!contextStat?.isDirectory()) {
    throw new InputError(
      'context',
      `"${params.context}" is not a directory`,
      'Pass the folder that holds the Dockerfile and the files it copies.',
    );
  }
  const dockerfilePath = path.resolve(contextDir, params.dockerfile);
  const relative = path.relative(contextDir, dockerfilePath);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new InputError(
      'dockerfile',
      `"${params.dockerfile}" is outside the context`,
      'Give the Dockerfile path relative to the context, inside it.',
    );
  }
  // By real path too: a Dockerfile that is a symlink leaving the context is never read.
  const resolved = await contextPath(contextDir, relative);
  if (!resolved.ok && resolved.reason === 'outside') throw outsideContextError('dockerfile', relative, resolved.real);
  const dockerfileStat = await stat(dockerfilePath).catch(() => undefined);
  if (!dockerfileStat?.isFile()) {
    throw new InputError(
      'dockerfile',
      `no file "${relative}" in ${contextDir}`,
      'Check the name (default "Dockerfile") or pass dockerfile.',
    );
  }
  return { contextDir, dockerfile: relative };
}

export class Builds implements BuildsApi {
  private readonly store: BuildRecordStore;
  private readonly pollMs: number;
  private readonly spawner = new ExecaProcessSpawner();
  /**
   * Docker status per use_sudo. A reachable daemon is trusted for a short while, so back-to-back builds do not pay
   * for four docker CLI calls each; a daemon that went away in between shows up as the build's own failure.
   */
  private dockerStatus = new Map<string, { status: DockerStatus; at: number }>();

  constructor(private readonly deps: BuildsDeps) {
    this.store = new BuildRecordStore(deps.config.stateDir);
    this.pollMs = deps.pollMs ?? 200;
  }

  /**
   * The one Docker client of a build or smoke test: the probe's decision (CLI path, sudo, Docker variables, builder).
   * Without a reachable daemon there is no decision to reuse; the CLI as probed is then called anyway, so a smoke
   * test reports Docker's own error.
   */
  private dockerClientFor(status: DockerStatus): DockerClient {
    const invocation =
      status.invocation ??
      dockerInvocationFor({
        cliPath: status.cli.path ?? this.deps.config.dockerCommand,
        useSudo: status.use_sudo,
        env: this.deps.env,
        builder: status.builder.selected,
      });
    return new DockerClient(invocation, this.deps.runner, this.spawner);
  }

  /** The probe's decision for a local build, handed to the worker as data (with why its context was chosen). */
  private localTarget(status: DockerStatus): ChosenTarget {
    return {
      spec: { mode: 'local', docker: this.dockerClientFor(status).invocation },
      warnings: status.selection?.note ? [status.selection.note] : [],
    };
  }

  private codebuildRunner: Promise<CodeBuildRunner> | undefined;

  /** Loaded on the CodeBuild path only: the AWS SDK stays out of local builds. */
  private runner(): Promise<CodeBuildRunner> {
    this.codebuildRunner ??= import('../codebuild/codebuild-runner.js').then(({ createCodeBuildRunner }) =>
      createCodeBuildRunner({ defaultRegion: DEFAULT_REGION }),
    );
    return this.codebuildRunner;
  }

  /** CodeBuild as the target, once the project is known to exist; otherwise the seed's "not found" refusal. */
  private async codebuildTarget(
    params: BuildImageParams,
    region: string,
    reason: string,
  ): Promise<ChosenTarget | BuildRefusal> {
    const runner = await this.runner();
    const check = await runner.checkProject(params.codebuildProject, region);
    if (!check.exists) {
      return {
        refused: true,
        mode: 'codebuild',
        message: check.message ?? `CodeBuild project not found: ${params.codebuildProject}`,
        nextSteps: check.setupCommand ? [`Create it: ${check.setupCommand}`] : [],
      };
    }
    return {
      spec: {
        mode: 'codebuild',
        region,
        project: params.codebuildProject,
        ...(params.s3Bucket ? { bucket: params.s3Bucket } : {}),
      },
      region,
      warnings: [reason, CODEBUILD_CHARGES_WARNING, ...check.warnings].filter(Boolean),
      charges: chargeQuestion(check, params.timeoutSeconds),
    };
  }

  /** The seed's detection order: forced modes, local Docker when it answers, CodeBuild when credentials resolve. */
  private async chooseTarget(params: BuildImageParams): Promise<ChosenTarget | BuildRefusal> {
    const local = (status: DockerStatus) => this.localTarget(status);
    const awsStatus = () =>
      probeAws({
        runner: this.deps.runner,
        env: this.deps.env,
        region: params.region,
        codebuildProject: params.codebuildProject,
        timeoutMs: this.deps.config.awsTimeoutMs,
      });
    if (params.forceCodebuild) {
      const aws = await awsStatus();
      if (!aws.credentials.found) {
        return {
          refused: true,
          mode: 'codebuild',
          message: `force_codebuild is set but no AWS credentials resolve: ${aws.credentials.error ?? ''}`,
          nextSteps: ['Configure AWS credentials (`aws configure`, or AWS_PROFILE / AWS_ACCESS_KEY_ID).'],
        };
      }
      return this.codebuildTarget(params, aws.region.name, 'force_codebuild is set.');
    }
    const docker = await this.probeDocker(params.useSudo, params);
    if (docker.selection && !docker.selection.ok) {
      return {
        refused: true,
        mode: 'local',
        message: docker.selection.error ?? 'docker_context / builder cannot be used.',
        nextSteps: docker.selection.hint ? [docker.selection.hint] : [],
      };
    }
    if (docker.daemon.state === 'reachable') return local(docker);
    const dockerProblem = `Docker is ${daemonStateInWords(docker.daemon.state)}${docker.daemon.error ? `: ${docker.daemon.error}` : ''}.`;
    const dockerSteps = docker.daemon.hint ? [docker.daemon.hint] : [];
    // docker_context and builder name a local Docker: never fall back to CodeBuild from them.
    if (params.forceLocal || docker.selection) {
      const why = params.forceLocal ? 'force_local is set' : 'docker_context / builder is set';
      return {
        refused: true,
        mode: 'local',
        message: `${why} but ${dockerProblem}`,
        nextSteps: dockerSteps,
      };
    }
    const aws = await awsStatus();
    if (aws.credentials.found) {
      const sudoHint =
        docker.daemon.state === 'permission-denied' && !params.useSudo
          ? ' Docker runs here but needs sudo: pass use_sudo to build locally for free.'
          : '';
      return this.codebuildTarget(params, aws.region.name, `${FALLBACK_MESSAGE} ${dockerProblem}${sudoHint}`);
    }
    return {
      refused: true,
      mode: 'none',
      message: `${NEITHER_AVAILABLE_MESSAGE}. ${dockerProblem}`,
      nextSteps: [...dockerSteps, 'Install and start Docker, or configure AWS credentials (`aws configure`).'],
    };
  }

  /** The Docker status for use_sudo (and a context / builder): a recent reachable one from the cache, else a probe. */
  private async probeDocker(
    useSudo: boolean,
    target: Pick<BuildImageParams, 'dockerContext' | 'builder'> = {},
  ): Promise<DockerStatus> {
    const key = JSON.stringify([useSudo, target.dockerContext ?? null, target.builder ?? null]);
    const cached = this.dockerStatus.get(key);
    if (cached && Date.now() - cached.at < DOCKER_STATUS_TTL_MS) return cached.status;
    const status = await probeDocker({
      runner: this.deps.runner,
      dockerCommand: this.deps.config.dockerCommand,
      useSudo,
      env: this.deps.env,
      timeoutMs: this.deps.config.dockerTimeoutMs,
      ...(target.dockerContext ? { context: target.dockerContext } : {}),
      ...(target.builder ? { builder: target.builder } : {}),
    });
    if (status.daemon.state === 'reachable' && status.invocation)
      this.dockerStatus.set(key, { status, at: Date.now() });
    else this.dockerStatus.delete(key);
    return status;
  }

  /** Validates the call and resolves its sources into a build request; bad input throws InputError. */
  private async requestFor(params: BuildImageParams): Promise<BuildRequest> {
    const { contextDir, dockerfile } = await resolveSources(params);
    const imageRef = `${params.imageName}:${params.imageTag}`;
    // The sources and the target are resolved here; everything else passes through as given.
    const {
      context: _context,
      dockerfile: _dockerfile,
      imageName: _imageName,
      imageTag: _imageTag,
      forceLocal: _forceLocal,
      forceCodebuild: _forceCodebuild,
      region: _region,
      codebuildProject: _codebuildProject,
      s3Bucket: _s3Bucket,
      dockerContext: _dockerContext,
      builder: _builder,
      ...options
    } = params;
    const request: BuildRequest = { ...options, contextDir, dockerfile, imageRef };
    try {
      validateImageRef(imageRef, 'image_name');
      // Local cache paths are made absolute here, against the caller's directory, not the worker's.
      request.cacheFrom = request.cacheFrom?.map((spec) => cacheSpecText(parseCacheSpec(spec, 'from')));
      request.cacheTo = request.cacheTo?.map((spec) => cacheSpecText(parseCacheSpec(spec, 'to')));
      // Validates every build option before anything starts, so bad input fails the call, not the build.
      await resolveSecretInputs(request, this.deps.env);
      dockerBuildArgs({
        ...request,
        secrets: localSecrets(request.secrets),
        dockerfilePath: dockerfile,
        builder: 'legacy',
      });
    } catch (error) {
      throw error instanceof InputError ? toToolField(error) : error;
    }
    checkPushInput(request);
    return request;
  }

  /**
   * Validates the call, decides where it builds, queues its record and job, and starts the worker that runs it.
   * Returns the queued record at once: the build goes on whatever happens to this process.
   */
  async start(params: BuildImageParams, options: BuildStartOptions = {}): Promise<BuildRecord | BuildRefusal> {
    checkDockerTargetInput(params);
    const request = await this.requestFor(params);
    const target = await this.chooseTarget(params);
    if ('refused' in target) return target;
    const problem = secretTargetProblem(request, target.spec) ?? (await this.targetProblem(request, target));
    if (problem) return problem;
    if (target.charges && options.confirmCharges && !params.confirmCharges) {
      if (!(await options.confirmCharges(target.charges))) return chargesDeclined(target.charges);
    }
    return this.launch(request, target);
  }

  /** push and the caches, checked against where the build runs (the builder's driver for cache exports). */
  private targetProblem(request: BuildRequest, target: ChosenTarget): Promise<BuildRefusal | undefined> {
    const spec = target.spec;
    return targetProblem(request, spec, () => {
      if (spec.mode !== 'local') throw new Error('no Docker client for a CodeBuild target');
      return dockerClientOf(spec.docker, this.deps.runner);
    });
  }

  private async launch(request: BuildRequest, target: ChosenTarget): Promise<BuildRecord> {
    const buildId = BuildRecordStore.newId(target.spec.mode);
    const { logFile } = await this.store.prepare(buildId);
    const record = newBuildRecord({
      buildId,
      request,
      target: {
        mode: target.spec.mode,
        region: target.region,
        warnings: [...target.warnings, ...secretBuildArgWarnings(request)],
      },
      logFile,
      owner: currentProcessIdentity(),
      createdAt: new Date().toISOString(),
    });
    // No build-arg value is written to disk: the worker gets them through its environment.
    const job = jobRequest(request);
    await this.store.saveJob({ version: 1, buildId, request: job.request, target: target.spec });
    await this.store.save(record);
    try {
      await this.deps.launcher.launch(buildId, job.workerEnv);
    } catch (error) {
      const failed: BuildRecord = {
        ...record,
        status: 'failed',
        phase: 'finished',
        ended_at: new Date().toISOString(),
        error: {
          kind: 'worker-start-failed',
          summary: `The build's worker process could not start: ${(error as Error).message}`,
          excerpt: '',
          next_step: 'Check that node can start here (PATH, memory, process limits), then run build_image again.',
        },
      };
      await this.store.save(failed);
      return failed;
    }
    return record;
  }

  /**
   * The seed's --no-wait: on the CodeBuild path, applies the analyser's fixes, uploads and starts the build, and
   * returns its id (`project:uuid`) without following it. A local build starts its worker and returns its record.
   */
  async startDetached(
    params: BuildImageParams,
  ): Promise<
    | BuildRefusal
    | { mode: 'local'; record: BuildRecord }
    | { mode: 'codebuild'; launch: CodeBuildLaunch; warnings: string[] }
  > {
    checkDockerTargetInput(params);
    const request = await this.requestFor(params);
    const target = await this.chooseTarget(params);
    if ('refused' in target) return target;
    const problem = secretTargetProblem(request, target.spec) ?? (await this.targetProblem(request, target));
    if (problem) return problem;
    if (target.spec.mode === 'local') return { mode: 'local', record: await this.launch(request, target) };
    const { workDir } = await this.store.prepare(BuildRecordStore.newId('codebuild'));
    const { prepared } = await prepareSources(request, workDir);
    const runner = await this.runner();
    const launch = await runner.startDetached(
      request,
      { contextDir: prepared.contextDir, dockerfilePath: prepared.dockerfilePath },
      {
        project: params.codebuildProject,
        region: target.region!,
        ...(params.s3Bucket ? { bucket: params.s3Bucket } : {}),
      },
    );
    return { mode: 'codebuild', launch, warnings: target.warnings ?? [] };
  }

  /** Status of a CodeBuild build by its id (`project:uuid`), wherever it was started. */
  async codebuildStatus(codebuildBuildId: string, region?: string) {
    const runner = await this.runner();
    const status = await runner.status(codebuildBuildId, region);
    return { status, logTail: await runner.logTail(codebuildBuildId, 20, region).catch(() => []) };
  }

  /** By this tool's build id, or by the CodeBuild id (`project:uuid`) of one of its attempts. */
  async get(buildId: string): Promise<BuildRecord | undefined> {
    const record = await this.load(buildId);
    if (record || !buildId.includes(':')) return record;
    const owner = (await this.store.list(200)).records.find((candidate) =>
      candidate.attempts.some((attempt) => attempt.codebuild_build_id === buildId),
    );
    return owner && this.load(owner.build_id);
  }

  /** A record; one whose worker died is swept first (its leftovers stopped) and comes back interrupted. */
  private async load(buildId: string): Promise<BuildRecord | undefined> {
    if (!BuildRecordStore.isValidId(buildId)) return undefined;
    const raw = await this.store.loadRaw(buildId);
    if (!raw || TERMINAL_STATUSES.includes(raw.status) || this.store.workerAlive(raw)) return raw;
    return this.sweep(raw, 'interrupted');
  }

  /**
   * Ends a build whose worker is gone: stops what the worker left running (the docker client in its process group,
   * the build's smoke containers) and writes the final record. One process wins the sweep; the others read it.
   */
  private async sweep(raw: BuildRecord, status: 'interrupted' | 'cancelled'): Promise<BuildRecord> {
    const ended =
      status === 'interrupted'
        ? interruptedRecord(raw, new Date())
        : {
            ...raw,
            status,
            phase: 'finished' as const,
            ended_at: new Date().toISOString(),
            error: {
              kind: 'cancelled',
              summary: 'The build was cancelled.',
              excerpt: '',
              next_step: 'Start it again with build_image when wanted.',
            },
          };
    const release = await this.store.claimSweep(raw.build_id);
    if (!release) return ended;
    try {
      // A record still queued names the process that started the worker, not a worker's own group: leave it be.
      if (raw.status !== 'queued') stopProcessGroup(raw.owner_pid);
      // The docker client leads a group of its own, which a SIGKILL of the worker does not reach.
      for (const child of await this.store.liveChildGroups(raw.build_id)) stopProcessGroup(child.pid);
      const job = await this.store.loadJob(raw.build_id).catch(() => undefined);
      if (job?.target.mode === 'local') {
        await removeSmokeContainers({
          docker: dockerClientOf(job.target.docker, this.deps.runner),
          runId: smokeRunIdFor(raw.build_id),
          timeoutMs: 10_000,
        }).catch(() => undefined);
      }
      const latest = await this.store.loadRaw(raw.build_id);
      if (latest && TERMINAL_STATUSES.includes(latest.status)) return latest;
      await this.store.save(ended);
      return ended;
    } finally {
      await release();
    }
  }

  /** True while the build's worker runs (on this machine, whichever process started it). */
  async isActive(buildId: string): Promise<boolean> {
    const raw = await this.store.loadRaw(buildId).catch(() => undefined);
    return raw !== undefined && this.store.workerAlive(raw);
  }

  private async poll(
    buildId: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    done: (record: BuildRecord) => boolean,
  ): Promise<BuildRecord | undefined> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    let record = await this.get(buildId);
    while (record && !done(record) && Date.now() < deadline && !signal?.aborted) {
      await sleep(Math.min(this.pollMs, deadline - Date.now()), signal);
      record = (await this.get(buildId)) ?? record;
    }
    return record;
  }

  /** Resolves when the build's status or phase differs from now, it ends, or the time runs out. */
  async waitForChange(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined> {
    const first = await this.get(buildId);
    if (!first || timeoutMs <= 0) return first;
    return this.poll(
      first.build_id,
      timeoutMs,
      signal,
      (record) => record.status !== first.status || record.phase !== first.phase || isOver(record),
    );
  }

  /** Waits until the build ends or `timeoutMs` passes; returns the record either way. */
  waitForEnd(buildId: string, timeoutMs: number, signal?: AbortSignal): Promise<BuildRecord | undefined> {
    return this.poll(buildId, timeoutMs, signal, isOver);
  }

  /**
   * Stops a running build from any process on this machine: its worker is asked to stop (SIGTERM), which stops
   * docker build or CodeBuild and any smoke container and records `cancelled`. Returns false when it was not running.
   */
  async cancel(buildId: string): Promise<boolean> {
    const raw = await this.store.loadRaw(buildId);
    if (!raw || isOver(raw)) return false;
    if (!this.store.workerAlive(raw)) {
      await this.sweep(raw, raw.status === 'queued' ? 'cancelled' : 'interrupted');
      return raw.status === 'queued';
    }
    // A queued record names the process that launched the worker; the worker names itself once it runs. Whoever
    // the record names now is asked to stop, again when that changes, so a stop never goes to a process gone by.
    const signalled = new Set<number>();
    const signalOwner = (record: BuildRecord) => {
      if (signalled.has(record.owner_pid)) return;
      signalled.add(record.owner_pid);
      try {
        process.kill(record.owner_pid, 'SIGTERM');
      } catch {
        // Gone between the check and the signal: the sweep below ends it.
      }
    };
    signalOwner(raw);
    const deadline = Date.now() + 20_000;
    let ended: BuildRecord | undefined = raw;
    while (Date.now() < deadline) {
      ended = await this.waitForEnd(buildId, Math.min(1_000, deadline - Date.now()));
      if (!ended || isOver(ended)) break;
      const current = await this.store.loadRaw(buildId);
      if (current) signalOwner(current);
    }
    if (ended && !isOver(ended)) {
      const latest = await this.store.loadRaw(buildId);
      if (latest && !this.store.workerAlive(latest)) await this.sweep(latest, 'cancelled');
    }
    return true;
  }

  list(limit: number): Promise<BuildListing> {
    return this.store.list(limit, (id) => this.load(id));
  }

  /** The log's last lines; a log that should exist but is missing or unreadable is said in one line, not hidden. */
  async logTail(record: BuildRecord, lines: number): Promise<string[]> {
    try {
      const tail = await readLogTail(record.log_file, lines);
      if (tail.length > 0 || lines <= 0 || record.status === 'queued' || (await pathExists(record.log_file)))
        return tail;
      return [`[docker-image-builder] the log file ${record.log_file} is missing (deleted, or never written).`];
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      return [`[docker-image-builder] the log file ${record.log_file} cannot be read (${code}).`];
    }
  }

  /**
   * Follows one build's event log from its first event, calling the listener for each; the returned function stops
   * following and resolves once nothing more will be delivered.
   */
  subscribe(buildId: string, listener: (event: BuildEvent, state: BuildProgressState) => void): () => Promise<void> {
    const follower = followEventLog(this.store.eventLogFile(buildId), (line) =>
      listener(line.event, { attempt: line.attempt, progress: line.progress }),
    );
    return follower.stop;
  }

  async imagePlatforms(refs: string[], useSudo: boolean): Promise<Record<string, string>> {
    const status = await this.probeDocker(useSudo);
    if (status.daemon.state !== 'reachable') return {};
    const docker = this.dockerClientFor(status);
    return localImagePlatforms((args, options) => docker.run(args, options), refs);
  }

  async smokeTest(input: Parameters<BuildsApi['smokeTest']>[0], signal: AbortSignal): Promise<SmokeResult> {
    const docker = this.dockerClientFor(await this.probeDocker(input.useSudo));
    return new SmokeTester({ docker }).run(
      {
        image: input.image,
        commands: input.commands,
        gpu: input.gpu,
        pytorch: input.pytorch,
        timeoutSeconds: input.timeout_seconds,
      },
      { signal },
    );
  }
}

/** docker_context and builder choose a local Docker; with force_codebuild they would be silently dropped. */
function checkDockerTargetInput(params: BuildImageParams): void {
  if (!params.forceCodebuild || (params.dockerContext === undefined && params.builder === undefined)) return;
  throw new InputError(
    params.dockerContext !== undefined ? 'docker_context' : 'builder',
    'chooses a local Docker, and force_codebuild sends the build to CodeBuild',
    'Drop force_codebuild to build with that Docker, or drop docker_context / builder for CodeBuild.',
  );
}

function isOver(record: BuildRecord): boolean {
  return TERMINAL_STATUSES.includes(record.status);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Stops what a dead worker left in its process group (the worker led its own): TERM first, KILL shortly after. */
function stopProcessGroup(groupId: number): void {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-groupId, name);
      return true;
    } catch {
      return false;
    }
  };
  if (!signal('SIGTERM')) return;
  setTimeout(() => signal('SIGKILL'), 3000).unref();
}
