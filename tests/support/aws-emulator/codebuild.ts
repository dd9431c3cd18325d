/**
 * CodeBuild (JSON 1.1, `CodeBuild_20161006.*`) with builds that really run on this machine:
 * the S3 source zip is fetched from the S3 server, unpacked into a temp dir, and each buildspec phase's commands run
 * in a shell (`/bin/sh` like CodeBuild, or `bash` when the buildspec's `env.shell` says so) in their own process
 * group, with environment and working directory carried from one command to the next as buildspec 0.2 does.
 * Output lines become CloudWatch Logs events in `/aws/codebuild/<project>` / `<build uuid>`.
 *
 * Phase order and failure transitions follow CodeBuild: SUBMITTED → QUEUED → PROVISIONING → DOWNLOAD_SOURCE →
 * INSTALL → PRE_BUILD → BUILD → POST_BUILD → UPLOAD_ARTIFACTS → FINALIZING → COMPLETED. A failure in
 * DOWNLOAD_SOURCE, INSTALL or PRE_BUILD skips to FINALIZING; a failure in BUILD still runs POST_BUILD and
 * UPLOAD_ARTIFACTS (POST_BUILD sees CODEBUILD_BUILD_SUCCEEDING=0). StopBuild and timeouts kill the process group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { parseBuildspec, type Buildspec, type PhaseKey } from './buildspec.js';
import type { LogsStore } from './logs.js';
import { ServiceError, asString, epochSeconds, requireString } from './protocol.js';

export const PHASE_ORDER = [
  'SUBMITTED',
  'QUEUED',
  'PROVISIONING',
  'DOWNLOAD_SOURCE',
  'INSTALL',
  'PRE_BUILD',
  'BUILD',
  'POST_BUILD',
  'UPLOAD_ARTIFACTS',
  'FINALIZING',
  'COMPLETED',
] as const;
export type PhaseType = (typeof PHASE_ORDER)[number];
export type PhaseStatus = 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'IN_PROGRESS' | 'STOPPED';
export type BuildStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'STOPPED';

/** An injected failure: the phase fails at its start (its commands do not run). */
export interface FailPhaseSpec {
  phase: PhaseType;
  /** Phase (and build) status; default FAILED. */
  status?: 'FAILED' | 'FAULT' | 'TIMED_OUT';
  message?: string;
}

/** Values by Secrets Manager name or ARN and by Parameter Store name, for builds' secret variables. */
export interface StoredSecrets {
  secretsManager?: Record<string, string>;
  parameterStore?: Record<string, string>;
}

export interface EnvironmentVariable {
  name: string;
  value: string;
  type?: string;
}

/** A project as CreateProject takes it (the emulator keeps the JSON), plus the emulator-only `failPhase`. */
export interface ProjectConfig {
  name: string;
  description?: string;
  source?: { type?: string; location?: string; buildspec?: string };
  artifacts?: { type?: string };
  environment?: {
    type?: string;
    image?: string;
    computeType?: string;
    privilegedMode?: boolean;
    environmentVariables?: EnvironmentVariable[];
  };
  serviceRole?: string;
  timeoutInMinutes?: number;
  queuedTimeoutInMinutes?: number;
  logsConfig?: { cloudWatchLogs?: { status?: string; groupName?: string; streamName?: string } };
  tags?: { key?: string; value?: string }[];
  /** Every build of this project fails in this phase (emulator only; not sent over the wire). */
  failPhase?: PhaseType | FailPhaseSpec;
}

interface StoredProject extends ProjectConfig {
  arn: string;
  created: Date;
  lastModified: Date;
  buildCounter: number;
}

export interface PhaseRecord {
  phaseType: PhaseType;
  phaseStatus?: PhaseStatus;
  startTime: Date;
  endTime?: Date;
  durationInSeconds?: number;
  contexts?: { statusCode: string; message: string }[];
}

export interface EmulatedBuild {
  id: string;
  uuid: string;
  arn: string;
  buildNumber: number;
  projectName: string;
  startTime: Date;
  endTime?: Date;
  currentPhase: PhaseType;
  buildStatus: BuildStatus;
  buildComplete: boolean;
  phases: PhaseRecord[];
  sourceType: string;
  sourceLocation?: string;
  buildspecText?: string;
  image: string;
  computeType: string;
  environmentType: string;
  privilegedMode: boolean;
  environmentVariables: EnvironmentVariable[];
  timeoutInMinutes: number;
  queuedTimeoutInMinutes: number;
  serviceRole?: string;
  logs?: { groupName: string; streamName: string; deepLink: string; cloudWatchLogsArn: string };
  logsDisabled: boolean;
  logGroupName: string;
  logStreamName: string;
  region: string;
  initiator: string;
  failPhase?: FailPhaseSpec;
  /** Source directory on this machine while the build runs (removed afterwards unless keepWorkDirs). */
  workDir?: string;
  /** Commands run so far, in order, with exit codes (for assertions). */
  commands: { phase: PhaseType; command: string; exitCode: number | null }[];
  /** Resolves when the build reaches COMPLETED. */
  done: Promise<void>;
}

interface BuildRuntime {
  abort: AbortController;
  stopRequested: boolean;
  timedOut: boolean;
  child?: ChildProcess;
  timer?: NodeJS.Timeout;
}

export interface CodeBuildTiming {
  /** Time spent in QUEUED (default 50 ms). */
  queuedMs: number;
  /** Time spent in PROVISIONING (default 50 ms). */
  provisioningMs: number;
  /** Length of one "minute" for timeoutInMinutes (default 60 000; make it small to test TIMED_OUT). */
  minuteMs: number;
  /** SIGTERM → SIGKILL grace when stopping a command (default 2000 ms). */
  killGraceMs: number;
}

export interface CodeBuildDeps {
  account: string;
  defaultRegion: string;
  logs: LogsStore;
  s3Endpoint: () => string | undefined;
  timing: CodeBuildTiming;
  /** Without privileged mode, `docker` in a command cannot reach a daemon (as in CodeBuild). Default true. */
  enforcePrivilegedMode: boolean;
  keepWorkDirs: boolean;
  /** Extra variables for every command (the emulator adds AWS endpoints, fake credentials, region). */
  commandEnv: (region: string) => Record<string, string>;
  /** Secrets Manager secrets and Parameter Store parameters that SECRETS_MANAGER / PARAMETER_STORE variables name. */
  storedSecrets?: StoredSecrets;
  /** Service role validation: 'off' accepts any ARN; 'exists' requires the role in the emulated IAM. */
  roleExists?: (arn: string) => { exists: boolean; createdAt?: Date };
  iamPropagationDelayMs: number;
}

const UNPRIVILEGED_DOCKER_HOST = 'unix:///nonexistent/codebuild-privileged-mode-off/docker.sock';

function containerTimestamp(date = new Date()): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${date.getUTCFullYear()}/${pad(date.getUTCMonth() + 1)}/${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.` +
    `${pad(date.getUTCMilliseconds(), 3)}000`
  );
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** `bucket/key` or `arn:aws:s3:::bucket/key` → parts. */
export function parseS3Location(location: string): { bucket: string; key: string } | undefined {
  const bare = location.replace(/^arn:aws[a-z-]*:s3:::/, '');
  const slash = bare.indexOf('/');
  if (slash <= 0 || slash === bare.length - 1) return undefined;
  return { bucket: bare.slice(0, slash), key: bare.slice(slash + 1) };
}

async function extractZip(zipPath: string, dest: string): Promise<number> {
  const zip = await yauzl.openPromise(zipPath, { lazyEntries: true });
  let files = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      const target = path.join(dest, entry.fileName);
      if (entry.fileName.endsWith('/')) {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      const mode = (entry.externalFileAttributes >>> 16) & 0o777;
      const stream = await zip.openReadStreamPromise(entry);
      // Symlink entries (S_IFLNK) are written as a file holding the link text, as CodeBuild's unzip does.
      await pipeline(stream, createWriteStream(target));
      if (mode !== 0) await chmod(target, mode);
      files++;
    }
  } finally {
    zip.close();
  }
  return files;
}

/** Splits a byte stream into lines (a trailing partial line is flushed at end). */
function onLines(stream: Readable, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let index: number;
      while ((index = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, index).replace(/\r$/, ''));
        buffer = buffer.slice(index + 1);
      }
    });
    stream.on('end', () => {
      if (buffer.length > 0) onLine(buffer);
      resolve();
    });
    stream.on('error', () => resolve());
  });
}

export class CodeBuildService {
  readonly projects = new Map<string, StoredProject>();
  readonly builds = new Map<string, EmulatedBuild>();
  private readonly runtimes = new Map<string, BuildRuntime>();
  private readonly idempotency = new Map<string, { id: string; at: number; fingerprint: string }>();
  private readonly nextBuildFailures: (FailPhaseSpec & { project?: string })[] = [];

  constructor(private readonly deps: CodeBuildDeps) {}

  projectArn(name: string, region: string): string {
    return `arn:aws:codebuild:${region}:${this.deps.account}:project/${name}`;
  }

  /** Registers a project without going through the API (test setup). */
  addProject(config: ProjectConfig, region = this.deps.defaultRegion): void {
    const now = new Date();
    this.projects.set(config.name, {
      ...config,
      arn: this.projectArn(config.name, region),
      created: now,
      lastModified: now,
      buildCounter: 0,
    });
  }

  /** The next build (of `project`, or of any project) fails in `phase`. */
  failNextBuild(spec: FailPhaseSpec & { project?: string }): void {
    this.nextBuildFailures.push(spec);
  }

  handle(operation: string, input: Record<string, unknown>, region: string): unknown {
    switch (operation) {
      case 'BatchGetProjects':
        return this.batchGetProjects(input);
      case 'CreateProject':
        return { project: this.projectJson(this.createProject(input, region)) };
      case 'UpdateProject':
        return { project: this.projectJson(this.updateProject(input)) };
      case 'ListProjects':
        return { projects: [...this.projects.keys()].sort() };
      case 'DeleteProject':
        this.projects.delete(requireString(input, 'name'));
        return {};
      case 'StartBuild':
        return { build: this.buildJson(this.startBuild(input, region)) };
      case 'BatchGetBuilds':
        return this.batchGetBuilds(input);
      case 'StopBuild':
        return { build: this.buildJson(this.stopBuild(requireString(input, 'id'))) };
      case 'ListBuildsForProject': {
        const name = requireString(input, 'projectName');
        if (!this.projects.has(name)) {
          throw new ServiceError('ResourceNotFoundException', `The provided project name ${name} does not exist`);
        }
        const ids = [...this.builds.values()]
          .filter((b) => b.projectName === name)
          .sort((a, b) => b.buildNumber - a.buildNumber)
          .map((b) => b.id);
        return { ids };
      }
      default:
        throw new ServiceError('UnknownOperationException', `The emulator does not implement CodeBuild ${operation}`);
    }
  }

  private lookupProject(nameOrArn: string): StoredProject | undefined {
    const name = nameOrArn.startsWith('arn:') ? (nameOrArn.split('project/')[1] ?? '') : nameOrArn;
    return this.projects.get(name);
  }

  private batchGetProjects(input: Record<string, unknown>) {
    const names = Array.isArray(input['names']) ? (input['names'] as unknown[]).map(String) : [];
    if (names.length === 0 || names.length > 100) {
      throw new ServiceError(
        'InvalidInputException',
        "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 100",
      );
    }
    const projects = [];
    const projectsNotFound = [];
    for (const name of names) {
      const project = this.lookupProject(name);
      if (project === undefined) projectsNotFound.push(name);
      else projects.push(this.projectJson(project));
    }
    return { projects, projectsNotFound };
  }

  private validateServiceRole(role: string | undefined): void {
    if (role === undefined) {
      throw new ServiceError('InvalidInputException', 'Invalid service role: Service role cannot be empty');
    }
    const check = this.deps.roleExists?.(role);
    if (check === undefined) return;
    const tooFresh =
      check.createdAt !== undefined && Date.now() - check.createdAt.getTime() < this.deps.iamPropagationDelayMs;
    if (!check.exists || tooFresh) {
      throw new ServiceError(
        'InvalidInputException',
        `CodeBuild is not authorized to perform: sts:AssumeRole on ${role}`,
      );
    }
  }

  private createProject(input: Record<string, unknown>, region: string): StoredProject {
    const name = requireString(input, 'name');
    if (!/^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$/.test(name)) {
      throw new ServiceError('InvalidInputException', `Invalid project name: ${name}`);
    }
    if (this.projects.has(name)) {
      throw new ServiceError(
        'ResourceAlreadyExistsException',
        `Project already exists: ${this.projectArn(name, region)}`,
      );
    }
    for (const field of ['source', 'artifacts', 'environment']) {
      if (typeof input[field] !== 'object' || input[field] === null) {
        throw new ServiceError(
          'InvalidInputException',
          `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
        );
      }
    }
    this.validateServiceRole(asString(input['serviceRole']));
    this.addProject(input as unknown as ProjectConfig, region);
    const project = this.projects.get(name);
    if (project === undefined) throw new Error('unreachable');
    return project;
  }

  private updateProject(input: Record<string, unknown>): StoredProject {
    const name = requireString(input, 'name');
    const project = this.lookupProject(name);
    if (project === undefined) {
      throw new ServiceError('ResourceNotFoundException', `Project cannot be found: ${name}`);
    }
    if (input['serviceRole'] !== undefined) this.validateServiceRole(asString(input['serviceRole']));
    Object.assign(project, input, { lastModified: new Date() });
    return project;
  }

  private projectJson(p: StoredProject) {
    return {
      name: p.name,
      arn: p.arn,
      description: p.description,
      source: { type: 'NO_SOURCE', ...p.source },
      artifacts: { type: 'NO_ARTIFACTS', ...p.artifacts },
      environment: {
        type: 'LINUX_CONTAINER',
        image: 'aws/codebuild/standard:7.0',
        computeType: 'BUILD_GENERAL1_SMALL',
        privilegedMode: false,
        environmentVariables: [],
        imagePullCredentialsType: 'CODEBUILD',
        ...p.environment,
      },
      serviceRole: p.serviceRole,
      timeoutInMinutes: p.timeoutInMinutes ?? 60,
      queuedTimeoutInMinutes: p.queuedTimeoutInMinutes ?? 480,
      encryptionKey: `arn:aws:kms:${p.arn.split(':')[3] ?? this.deps.defaultRegion}:${this.deps.account}:alias/aws/s3`,
      tags: p.tags ?? [],
      created: epochSeconds(p.created),
      lastModified: epochSeconds(p.lastModified),
      badge: { badgeEnabled: false },
      logsConfig: {
        cloudWatchLogs: { status: 'ENABLED', ...p.logsConfig?.cloudWatchLogs },
        s3Logs: { status: 'DISABLED', encryptionDisabled: false },
      },
      projectVisibility: 'PRIVATE',
    };
  }

  private startBuild(input: Record<string, unknown>, region: string): EmulatedBuild {
    const projectName = requireString(input, 'projectName');
    const project = this.lookupProject(projectName);
    if (project === undefined) {
      throw new ServiceError(
        'ResourceNotFoundException',
        `Project cannot be found: ${this.projectArn(projectName, region)}`,
      );
    }
    const token = asString(input['idempotencyToken']);
    const fingerprint = JSON.stringify({ ...input, idempotencyToken: undefined });
    if (token !== undefined) {
      const previous = this.idempotency.get(token);
      if (previous !== undefined && Date.now() - previous.at < 5 * 60_000) {
        if (previous.fingerprint !== fingerprint) {
          throw new ServiceError(
            'InvalidInputException',
            'Different parameters were used with the same idempotency token within 5 minutes',
          );
        }
        const existing = this.builds.get(previous.id);
        if (existing !== undefined) return existing;
      }
    }

    const sourceType = asString(input['sourceTypeOverride']) ?? project.source?.type ?? 'NO_SOURCE';
    const sourceLocation = asString(input['sourceLocationOverride']) ?? project.source?.location;
    if (sourceType === 'S3') {
      if (sourceLocation === undefined || parseS3Location(sourceLocation) === undefined) {
        throw new ServiceError(
          'InvalidInputException',
          `Invalid source location: ${sourceLocation ?? '(none)'}; S3 source location must be bucket/key`,
        );
      }
    } else if (sourceType !== 'NO_SOURCE') {
      throw new ServiceError(
        'InvalidInputException',
        `The emulator supports S3 and NO_SOURCE sources, not ${sourceType}`,
      );
    }
    const buildspecText = asString(input['buildspecOverride']) ?? project.source?.buildspec;
    if (sourceType === 'NO_SOURCE' && (buildspecText === undefined || !buildspecText.includes('\n'))) {
      throw new ServiceError('InvalidInputException', 'Source type NO_SOURCE requires an inline buildspec');
    }
    const timeout = input['timeoutInMinutesOverride'] ?? project.timeoutInMinutes ?? 60;
    if (typeof timeout !== 'number' || timeout < 5 || timeout > 2160) {
      throw new ServiceError(
        'InvalidInputException',
        "1 validation error detected: Value at 'timeoutInMinutesOverride' failed to satisfy constraint: Member must have value between 5 and 2160",
      );
    }
    const overrides = Array.isArray(input['environmentVariablesOverride'])
      ? (input['environmentVariablesOverride'] as EnvironmentVariable[])
      : [];
    for (const variable of overrides) {
      if (variable.type !== undefined && !['PLAINTEXT', 'SECRETS_MANAGER', 'PARAMETER_STORE'].includes(variable.type)) {
        throw new ServiceError(
          'InvalidInputException',
          `1 validation error detected: Value '${variable.type}' at 'environmentVariablesOverride.member.type' failed to satisfy constraint: Member must satisfy enum value set: [PARAMETER_STORE, PLAINTEXT, SECRETS_MANAGER]`,
        );
      }
    }
    const projectVariables = project.environment?.environmentVariables ?? [];
    const environmentVariables = [
      ...projectVariables.filter((v) => !overrides.some((o) => o.name === v.name)),
      ...overrides,
    ];

    project.buildCounter += 1;
    const uuid = randomUUID();
    const id = `${project.name}:${uuid}`;
    const cloudWatch = project.logsConfig?.cloudWatchLogs;
    const logGroupName = cloudWatch?.groupName ?? `/aws/codebuild/${project.name}`;
    const logStreamName = cloudWatch?.streamName !== undefined ? `${cloudWatch.streamName}/${uuid}` : uuid;
    const queuedFailure = this.nextBuildFailures.findIndex(
      (f) => f.project === undefined || f.project === project.name,
    );
    const injected = queuedFailure >= 0 ? this.nextBuildFailures.splice(queuedFailure, 1)[0] : undefined;
    const projectFailure =
      typeof project.failPhase === 'string' ? { phase: project.failPhase } : (project.failPhase ?? undefined);

    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    const build: EmulatedBuild = {
      id,
      uuid,
      arn: `arn:aws:codebuild:${region}:${this.deps.account}:build/${id}`,
      buildNumber: project.buildCounter,
      projectName: project.name,
      startTime: new Date(),
      currentPhase: 'SUBMITTED',
      buildStatus: 'IN_PROGRESS',
      buildComplete: false,
      phases: [],
      sourceType,
      sourceLocation,
      buildspecText,
      image: asString(input['imageOverride']) ?? project.environment?.image ?? 'aws/codebuild/standard:7.0',
      computeType: asString(input['computeTypeOverride']) ?? project.environment?.computeType ?? 'BUILD_GENERAL1_SMALL',
      environmentType: asString(input['environmentTypeOverride']) ?? project.environment?.type ?? 'LINUX_CONTAINER',
      privilegedMode:
        typeof input['privilegedModeOverride'] === 'boolean'
          ? input['privilegedModeOverride']
          : (project.environment?.privilegedMode ?? false),
      environmentVariables,
      timeoutInMinutes: timeout,
      queuedTimeoutInMinutes: Number(input['queuedTimeoutInMinutesOverride'] ?? project.queuedTimeoutInMinutes ?? 480),
      serviceRole: asString(input['serviceRoleOverride']) ?? project.serviceRole,
      logsDisabled: cloudWatch?.status === 'DISABLED',
      logGroupName,
      logStreamName,
      region,
      initiator: 'dib-test-user',
      failPhase: injected ?? projectFailure,
      commands: [],
      done,
    };
    this.builds.set(id, build);
    if (token !== undefined) this.idempotency.set(token, { id, at: Date.now(), fingerprint });
    const runtime: BuildRuntime = { abort: new AbortController(), stopRequested: false, timedOut: false };
    this.runtimes.set(id, runtime);
    void this.run(build, runtime).finally(() => {
      this.runtimes.delete(id);
      resolveDone();
    });
    return build;
  }

  private batchGetBuilds(input: Record<string, unknown>) {
    const ids = Array.isArray(input['ids']) ? (input['ids'] as unknown[]).map(String) : [];
    if (ids.length === 0 || ids.length > 100) {
      throw new ServiceError(
        'InvalidInputException',
        "1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and 100",
      );
    }
    const builds = [];
    const buildsNotFound = [];
    for (const id of ids) {
      const build = this.builds.get(id.startsWith('arn:') ? (id.split(':build/')[1] ?? '') : id);
      if (build === undefined) buildsNotFound.push(id);
      else builds.push(this.buildJson(build));
    }
    return { builds, buildsNotFound };
  }

  private stopBuild(id: string): EmulatedBuild {
    const build = this.builds.get(id);
    if (build === undefined) throw new ServiceError('ResourceNotFoundException', `Build cannot be found: ${id}`);
    const runtime = this.runtimes.get(id);
    if (runtime !== undefined && !build.buildComplete) {
      runtime.stopRequested = true;
      this.interrupt(runtime);
    }
    return build;
  }

  /** Stops every running build and waits for them to finish (used by the emulator's stop()). */
  async stopAll(): Promise<void> {
    for (const runtime of this.runtimes.values()) {
      runtime.stopRequested = true;
      this.interrupt(runtime);
    }
    await Promise.all([...this.builds.values()].map((b) => b.done));
  }

  private interrupt(runtime: BuildRuntime): void {
    runtime.abort.abort();
    const child = runtime.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const pid = child.pid;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // already gone
      }
      setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, this.deps.timing.killGraceMs).unref();
    }
  }

  buildJson(b: EmulatedBuild) {
    return {
      id: b.id,
      arn: b.arn,
      buildNumber: b.buildNumber,
      startTime: epochSeconds(b.startTime),
      endTime: b.endTime === undefined ? undefined : epochSeconds(b.endTime),
      currentPhase: b.currentPhase,
      buildStatus: b.buildStatus,
      projectName: b.projectName,
      phases: b.phases.map((p) => ({
        phaseType: p.phaseType,
        phaseStatus: p.phaseStatus,
        startTime: epochSeconds(p.startTime),
        endTime: p.endTime === undefined ? undefined : epochSeconds(p.endTime),
        durationInSeconds: p.durationInSeconds,
        contexts: p.contexts,
      })),
      source: {
        type: b.sourceType,
        location: b.sourceLocation,
        buildspec: b.buildspecText,
        insecureSsl: false,
      },
      secondarySources: [],
      artifacts: { location: '' },
      environment: {
        type: b.environmentType,
        image: b.image,
        computeType: b.computeType,
        environmentVariables: b.environmentVariables,
        privilegedMode: b.privilegedMode,
        imagePullCredentialsType: 'CODEBUILD',
      },
      serviceRole: b.serviceRole,
      logs:
        b.logs === undefined
          ? { cloudWatchLogs: { status: b.logsDisabled ? 'DISABLED' : 'ENABLED' }, s3Logs: { status: 'DISABLED' } }
          : {
              ...b.logs,
              cloudWatchLogs: { status: 'ENABLED' },
              s3Logs: { status: 'DISABLED' },
            },
      timeoutInMinutes: b.timeoutInMinutes,
      queuedTimeoutInMinutes: b.queuedTimeoutInMinutes,
      buildComplete: b.buildComplete,
      initiator: b.initiator,
      encryptionKey: `arn:aws:kms:${b.region}:${this.deps.account}:alias/aws/s3`,
    };
  }

  // ---------------------------------------------------------------- running a build

  /** A variable's value in the build: PLAINTEXT as given, a secret reference resolved from the stored secrets. */
  private variableValue(variable: EnvironmentVariable): string | undefined {
    const stored = this.deps.storedSecrets;
    if (variable.type === 'SECRETS_MANAGER') return stored?.secretsManager?.[variable.value];
    if (variable.type === 'PARAMETER_STORE') return stored?.parameterStore?.[variable.value];
    return variable.value;
  }

  private log(build: EmulatedBuild, line: string): void {
    if (build.logs === undefined) return;
    // As CodeBuild does, values of SECRETS_MANAGER / PARAMETER_STORE variables are masked in the log.
    let masked = line;
    for (const variable of build.environmentVariables) {
      const value = variable.type && variable.type !== 'PLAINTEXT' ? this.variableValue(variable) : undefined;
      if (value) masked = masked.split(value).join('***');
    }
    this.deps.logs.append(build.logGroupName, build.logStreamName, masked);
  }

  private container(build: EmulatedBuild, text: string): void {
    this.log(build, `[Container] ${containerTimestamp()} ${text}`);
  }

  private beginPhase(build: EmulatedBuild, phaseType: PhaseType): PhaseRecord {
    const record: PhaseRecord = { phaseType, startTime: new Date() };
    build.phases.push(record);
    build.currentPhase = phaseType;
    return record;
  }

  private endPhase(
    record: PhaseRecord,
    status: PhaseStatus,
    context?: { statusCode: string; message: string },
  ): PhaseStatus {
    record.endTime = new Date();
    record.phaseStatus = status;
    record.durationInSeconds = Math.floor((record.endTime.getTime() - record.startTime.getTime()) / 1000);
    if (context !== undefined) record.contexts = [context];
    else if (!['SUBMITTED', 'QUEUED'].includes(record.phaseType)) record.contexts = [{ statusCode: '', message: '' }];
    return status;
  }

  private interruptedStatus(runtime: BuildRuntime): PhaseStatus | undefined {
    if (runtime.timedOut) return 'TIMED_OUT';
    if (runtime.stopRequested) return 'STOPPED';
    return undefined;
  }

  private injected(build: EmulatedBuild, phase: PhaseType) {
    if (build.failPhase?.phase !== phase) return undefined;
    const status = build.failPhase.status ?? 'FAILED';
    return {
      status,
      context: {
        statusCode: phase === 'DOWNLOAD_SOURCE' ? 'CLIENT_ERROR' : 'COMMAND_EXECUTION_ERROR',
        message:
          build.failPhase.message ??
          `Error while executing command: (failure injected by the emulator). Reason: exit status 1`,
      },
    };
  }

  private async run(build: EmulatedBuild, runtime: BuildRuntime): Promise<void> {
    const { timing } = this.deps;
    runtime.timer = setTimeout(() => {
      runtime.timedOut = true;
      this.interrupt(runtime);
    }, build.timeoutInMinutes * timing.minuteMs);
    let buildspec: Buildspec | undefined;
    let failed = false;
    let fault = false;
    const record = async (
      phase: PhaseType,
      body: () => Promise<{ status: PhaseStatus; context?: { statusCode: string; message: string } }>,
    ): Promise<boolean> => {
      const phaseRecord = this.beginPhase(build, phase);
      const injected = this.injected(build, phase);
      let outcome: { status: PhaseStatus; context?: { statusCode: string; message: string } };
      if (injected !== undefined) {
        if (phase !== 'SUBMITTED' && phase !== 'QUEUED' && phase !== 'PROVISIONING') {
          this.container(build, `Entering phase ${phase}`);
          this.container(build, `Phase complete: ${phase} State: ${injected.status}`);
          this.container(
            build,
            `Phase context status code: ${injected.context.statusCode} Message: ${injected.context.message}`,
          );
        }
        if (injected.status === 'TIMED_OUT') runtime.timedOut = true;
        outcome = injected;
      } else {
        try {
          outcome = await body();
        } catch (error) {
          outcome = {
            status: 'FAULT',
            context: { statusCode: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) },
          };
        }
      }
      const interrupted = this.interruptedStatus(runtime);
      const status = interrupted ?? outcome.status;
      this.endPhase(phaseRecord, status, interrupted !== undefined ? undefined : outcome.context);
      if (status === 'FAULT') fault = true;
      if (status !== 'SUCCEEDED') failed = true;
      return status === 'SUCCEEDED';
    };
    const wait = async (ms: number) => {
      await abortableSleep(ms, runtime.abort.signal);
      return { status: 'SUCCEEDED' as PhaseStatus };
    };

    try {
      await record('SUBMITTED', async () => ({ status: 'SUCCEEDED' }));
      let ok = await record('QUEUED', () => wait(timing.queuedMs));
      if (ok) {
        ok = await record('PROVISIONING', async () => {
          await wait(timing.provisioningMs);
          if (!build.logsDisabled) {
            this.deps.logs.createGroup(build.logGroupName, false);
            this.deps.logs.createStream(build.logGroupName, build.logStreamName, false);
            const group = encodeURIComponent(build.logGroupName);
            build.logs = {
              groupName: build.logGroupName,
              streamName: build.logStreamName,
              deepLink: `https://console.aws.amazon.com/cloudwatch/home?region=${build.region}#logEvent:group=${group};stream=${build.logStreamName}`,
              cloudWatchLogsArn: `arn:aws:logs:${build.region}:${this.deps.account}:log-group:${build.logGroupName}:log-stream:${build.logStreamName}`,
            };
          }
          this.container(build, 'Running on CodeBuild On-demand (emulated on this machine)');
          this.container(build, 'Waiting for agent ping');
          this.container(build, 'Waiting for DOWNLOAD_SOURCE');
          return { status: 'SUCCEEDED' };
        });
      }
      if (ok) {
        ok = await record('DOWNLOAD_SOURCE', async () => {
          const result = await this.downloadSource(build);
          if (result.status === 'SUCCEEDED') buildspec = result.buildspec;
          return result;
        });
      }
      if (ok && buildspec !== undefined) {
        const spec = buildspec;
        // `on-failure: CONTINUE` lets later phases run after a failed phase (the build still ends FAILED).
        const goOn = (passed: boolean, key: PhaseKey) =>
          passed || (spec.phases[key]?.onFailure === 'CONTINUE' && this.interruptedStatus(runtime) === undefined);
        ok = goOn(
          await record('INSTALL', () => this.runPhase(build, runtime, spec, 'install', 'INSTALL', true)),
          'install',
        );
        if (ok) {
          ok = goOn(
            await record('PRE_BUILD', () => this.runPhase(build, runtime, spec, 'pre_build', 'PRE_BUILD', !failed)),
            'pre_build',
          );
        }
        if (ok) {
          await record('BUILD', () => this.runPhase(build, runtime, spec, 'build', 'BUILD', !failed));
          if (this.interruptedStatus(runtime) === undefined) {
            await record('POST_BUILD', () => this.runPhase(build, runtime, spec, 'post_build', 'POST_BUILD', !failed));
          }
          if (this.interruptedStatus(runtime) === undefined) {
            await record('UPLOAD_ARTIFACTS', async () => {
              this.container(build, 'Entering phase UPLOAD_ARTIFACTS');
              this.container(build, 'Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED');
              this.container(build, 'Phase context status code:  Message: ');
              return { status: 'SUCCEEDED' };
            });
          }
        }
      }
      const finalizing = this.beginPhase(build, 'FINALIZING');
      this.endPhase(finalizing, 'SUCCEEDED');
    } finally {
      clearTimeout(runtime.timer);
      build.buildStatus = runtime.timedOut
        ? 'TIMED_OUT'
        : runtime.stopRequested
          ? 'STOPPED'
          : fault
            ? 'FAULT'
            : failed
              ? 'FAILED'
              : 'SUCCEEDED';
      build.endTime = new Date();
      build.phases.push({ phaseType: 'COMPLETED', startTime: build.endTime });
      build.currentPhase = 'COMPLETED';
      build.buildComplete = true;
      if (build.workDir !== undefined && !this.deps.keepWorkDirs) {
        await rm(path.dirname(build.workDir), { recursive: true, force: true }).catch(() => undefined);
      }
    }
  }

  private async downloadSource(
    build: EmulatedBuild,
  ): Promise<{ status: PhaseStatus; buildspec?: Buildspec; context?: { statusCode: string; message: string } }> {
    const root = await mkdtemp(path.join(tmpdir(), 'dib-codebuild-'));
    const srcDir = path.join(root, 'src');
    await mkdir(srcDir);
    build.workDir = srcDir;
    this.container(build, 'Phase is DOWNLOAD_SOURCE');
    this.container(build, `CODEBUILD_SRC_DIR=${srcDir}`);
    if (build.sourceType === 'S3' && build.sourceLocation !== undefined) {
      const location = parseS3Location(build.sourceLocation);
      const endpoint = this.deps.s3Endpoint();
      if (location === undefined || endpoint === undefined) {
        return this.downloadFailure(build, 'CLIENT_ERROR', 'no S3 endpoint configured for the emulator');
      }
      const zipPath = path.join(root, 'source.zip');
      try {
        const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
        const s3 = new S3Client({
          region: build.region,
          endpoint,
          forcePathStyle: true,
          credentials: { accessKeyId: 'AKIDCODEBUILDEMULATOR', secretAccessKey: 'emulator-secret' },
          maxAttempts: 3,
        });
        try {
          const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
          if (object.Body === undefined) throw new Error('empty S3 object body');
          await pipeline(object.Body as Readable, createWriteStream(zipPath));
        } finally {
          s3.destroy();
        }
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        const message = error instanceof Error ? error.message : String(error);
        return this.downloadFailure(
          build,
          'CLIENT_ERROR',
          `${name}: ${message} for primary source and source version arn:aws:s3:::${location.bucket}/${location.key}`,
        );
      }
      try {
        const files = await extractZip(zipPath, srcDir);
        this.container(build, `Extracted ${files} files from arn:aws:s3:::${location.bucket}/${location.key}`);
      } catch (error) {
        return this.downloadFailure(
          build,
          'CLIENT_ERROR',
          `zip: ${error instanceof Error ? error.message : String(error)} for primary source`,
        );
      } finally {
        await rm(zipPath, { force: true });
      }
    }
    let text = build.buildspecText;
    let yamlLocation = 'buildspec override';
    if (text === undefined || (!text.includes('\n') && !text.trim().startsWith('{'))) {
      const file = text?.trim() || 'buildspec.yml';
      yamlLocation = path.join(srcDir, file);
      try {
        text = await readFile(yamlLocation, 'utf8');
      } catch {
        return this.downloadFailure(build, 'YAML_FILE_ERROR', `YAML file does not exist: ${yamlLocation}`);
      }
    }
    this.container(build, `YAML location is ${yamlLocation}`);
    try {
      const buildspec = parseBuildspec(text);
      this.container(build, 'Processing environment variables');
      this.container(build, `Moving to directory ${srcDir}`);
      this.container(build, 'Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED');
      this.container(build, 'Phase context status code:  Message: ');
      return { status: 'SUCCEEDED', buildspec };
    } catch (error) {
      return this.downloadFailure(build, 'YAML_FILE_ERROR', error instanceof Error ? error.message : String(error));
    }
  }

  private downloadFailure(build: EmulatedBuild, statusCode: string, message: string) {
    this.container(build, `Phase complete: DOWNLOAD_SOURCE State: FAILED`);
    this.container(build, `Phase context status code: ${statusCode} Message: ${message}`);
    return { status: 'FAILED' as PhaseStatus, context: { statusCode, message } };
  }

  private commandEnvironment(build: EmulatedBuild, spec: Buildspec, succeeding: boolean): Record<string, string> {
    const base: Record<string, string> = {};
    for (const name of ['PATH', 'HOME', 'USER', 'LANG', 'TMPDIR', 'DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT']) {
      const value = process.env[name];
      if (value !== undefined) base[name] = value;
    }
    const env: Record<string, string> = {
      ...base,
      ...this.deps.commandEnv(build.region),
      AWS_REGION: build.region,
      AWS_DEFAULT_REGION: build.region,
      CODEBUILD_BUILD_ID: build.id,
      CODEBUILD_BUILD_ARN: build.arn,
      CODEBUILD_BUILD_NUMBER: String(build.buildNumber),
      CODEBUILD_BUILD_IMAGE: build.image,
      CODEBUILD_INITIATOR: build.initiator,
      CODEBUILD_SRC_DIR: build.workDir ?? '',
      CODEBUILD_SOURCE_VERSION: build.sourceLocation ?? '',
      CODEBUILD_START_TIME: String(build.startTime.getTime()),
      CODEBUILD_LOG_PATH: build.logStreamName,
      CODEBUILD_KMS_KEY_ID: `arn:aws:kms:${build.region}:${this.deps.account}:alias/aws/s3`,
      CODEBUILD_BUILD_SUCCEEDING: succeeding ? '1' : '0',
      ...spec.variables,
    };
    for (const variable of build.environmentVariables) {
      const value = this.variableValue(variable);
      if (value !== undefined) env[variable.name] = value;
    }
    if (this.deps.enforcePrivilegedMode && !build.privilegedMode) env['DOCKER_HOST'] = UNPRIVILEGED_DOCKER_HOST;
    return env;
  }

  private async runPhase(
    build: EmulatedBuild,
    runtime: BuildRuntime,
    spec: Buildspec,
    key: PhaseKey,
    phase: PhaseType,
    succeeding: boolean,
  ): Promise<{ status: PhaseStatus; context?: { statusCode: string; message: string } }> {
    const definition = spec.phases[key];
    this.container(build, `Entering phase ${phase}`);
    let context: { statusCode: string; message: string } | undefined;
    const runList = async (commands: string[]) => {
      for (const command of commands) {
        if (this.interruptedStatus(runtime) !== undefined) return false;
        this.container(build, `Running command ${command}`);
        const exitCode = await this.exec(build, runtime, spec, command, phase, succeeding && context === undefined);
        build.commands.push({ phase, command, exitCode });
        if (this.interruptedStatus(runtime) !== undefined) return false;
        if (exitCode !== 0) {
          const reason = exitCode === null ? 'signal: killed' : `exit status ${exitCode}`;
          this.log(build, '');
          this.container(build, `Command did not exit successfully ${command} ${reason}`);
          context = {
            statusCode: 'COMMAND_EXECUTION_ERROR',
            message: `Error while executing command: ${command}. Reason: ${reason}`,
          };
          return false;
        }
      }
      return true;
    };
    if (definition !== undefined) {
      await runList(definition.commands);
      if (definition.finally.length > 0 && this.interruptedStatus(runtime) === undefined) {
        const before = context;
        await runList(definition.finally);
        context ??= before;
      }
    }
    const interrupted = this.interruptedStatus(runtime);
    const status: PhaseStatus = interrupted ?? (context === undefined ? 'SUCCEEDED' : 'FAILED');
    this.container(build, `Phase complete: ${phase} State: ${status}`);
    this.container(build, `Phase context status code: ${context?.statusCode ?? ''} Message: ${context?.message ?? ''}`);
    return { status, context };
  }

  /** Runs one command like CodeBuild's 0.2 agent: env and cwd carried over from the previous command. */
  private async exec(
    build: EmulatedBuild,
    runtime: BuildRuntime,
    spec: Buildspec,
    command: string,
    _phase: PhaseType,
    succeeding: boolean,
  ): Promise<number | null> {
    const workDir = build.workDir ?? tmpdir();
    const stateDir = path.join(path.dirname(workDir), 'state');
    await mkdir(stateDir, { recursive: true });
    const envFile = path.join(stateDir, 'env.sh');
    const pwdFile = path.join(stateDir, 'pwd');
    const scriptFile = path.join(stateDir, `command-${build.commands.length + 1}.sh`);
    const shell = spec.shell === 'bash' || spec.shell === '/bin/bash' ? 'bash' : '/bin/sh';
    const script = [
      `if [ -f '${envFile}' ]; then . '${envFile}'; fi`,
      `export CODEBUILD_BUILD_SUCCEEDING=${succeeding ? '1' : '0'}`,
      `if [ -f '${pwdFile}' ]; then cd "$(cat '${pwdFile}')" || exit 1; fi`,
      command,
      '__dib_rc=$?',
      `export -p > '${envFile}'`,
      `pwd > '${pwdFile}'`,
      'exit $__dib_rc',
      '',
    ].join('\n');
    await writeFile(scriptFile, script);
    const child = spawn(shell, [scriptFile], {
      cwd: workDir,
      env: this.commandEnvironment(build, spec, succeeding),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runtime.child = child;
    const onLine = (line: string) => this.log(build, line);
    const outputs = [onLines(child.stdout, onLine), onLines(child.stderr, onLine)];
    const exitCode = await new Promise<number | null>((resolve) => {
      child.on('error', (error) => {
        this.log(build, `emulator: cannot start ${shell}: ${error.message}`);
        resolve(127);
      });
      child.on('close', (code) => resolve(code));
    });
    await Promise.all(outputs);
    runtime.child = undefined;
    return exitCode;
  }
}
