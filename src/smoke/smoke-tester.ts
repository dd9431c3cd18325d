import { randomBytes } from 'node:crypto';
import type { DockerClient } from '../docker/client.js';
import type { CommandResult } from '../util/command-runner.js';
import { InputError } from '../util/errors.js';
import { buildFlavour, checkCompanion, expectedCompanion, pythonSupportNote } from './companions.js';
import { dockerOutput, excerpt, firstErrorLine } from './excerpt.js';
import {
  BASE_PROBE_CHECKS,
  GPU_PROBE_CHECKS,
  PROBE_SCRIPT,
  parseProbeOutput,
  type ProbeCheckLine,
  type ProbeOutput,
} from './probe-script.js';
import type { SmokeCheck, SmokeCheckStatus, SmokeResult } from '../build-model/smoke-schema.js';

/** Every smoke container carries this label, so leftovers can be found and removed whatever their run. */
export const SMOKE_LABEL = 'dib.smoke';
/** Label holding the id of one smoke run; its containers are named `dib-smoke-<id>-<role>`. */
export const SMOKE_RUN_LABEL = 'dib.smoke.id';

export const DEFAULT_SMOKE_TIMEOUT_SECONDS = 180;
/** Limit for docker calls that start no container (info, image inspect, rm, ps). */
const DEFAULT_CONTROL_TIMEOUT_MS = 30_000;
/** Extra time the docker client gets after the container's own limit before the runner kills it. */
const CLIENT_GRACE_MS = 15_000;

const PYTHON_DETECT_SCRIPT =
  'for p in python3 python; do if command -v "$p" >/dev/null 2>&1; then echo "dib-python=$(command -v "$p")"; ' +
  'exit 0; fi; done; echo "dib-python="';

export type SmokeMode = 'auto' | 'on' | 'off';

export interface SmokeTesterOptions {
  /** Every docker call goes through it: the same CLI, sudo and Docker variables as the build of the image. */
  docker: DockerClient;
  /** Makes the id in container names and the dib.smoke.id label; letters, digits, `_.-` only. */
  idGenerator?: () => string;
  /** Milliseconds from an arbitrary origin, for durations. */
  clock?: () => number;
  controlTimeoutMs?: number;
}

export interface SmokeRunOptions {
  /** Local image reference or ID. */
  image: string;
  /** Shell commands run inside the image, each as `sh -c <command>` in its own container; each must exit 0. */
  commands?: string[];
  gpu?: SmokeMode;
  /** Limit for each container; default 180. */
  timeoutSeconds?: number;
  pytorch?: SmokeMode;
  /** Run the containers as this platform (`docker run --platform`): one platform of a multi-platform build. */
  platform?: string;
}

export interface SmokeRunHooks {
  /** Aborting removes the running smoke container (docker rm -f) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called as each check gets its final result, in order. */
  onCheck?: (check: SmokeCheck) => void;
}

interface ContainerRun {
  result: CommandResult;
  stoppedBy?: 'timeout' | 'abort';
  /** Set when `docker rm -f` after a stop failed; the container may still run. */
  removeError?: string;
}

interface GpuPlan {
  args: string[];
  used: boolean;
  /** Why the CUDA checks are skipped when `used` is false. */
  skipReason: string;
  note?: string;
}

interface RunState {
  runId: string;
  image: string;
  timeoutMs: number;
  platform?: string;
  signal?: AbortSignal;
  onCheck?: (check: SmokeCheck) => void;
  checks: SmokeCheck[];
  names: string[];
  notes: string[];
  /** A container was stopped from outside; its run label is swept at the end in case a client died mid-create. */
  stopped: boolean;
  result: Omit<SmokeResult, 'passed' | 'checks' | 'container_names' | 'duration_ms' | 'notes'>;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/;
/** What runc (any version) and shells print when the kernel refuses a binary for another architecture. */
const EXEC_FORMAT_ERROR = /exec format error/i;
const IMAGE_PLATFORM_FORMAT = '{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}';

/** Removes a container by name; a container that is already gone is success. Returns an error text on failure. */
async function forceRemove(docker: DockerClient, name: string, timeoutMs: number): Promise<string | undefined> {
  const result = await docker.run(['rm', '-f', name], { timeoutMs });
  if (result.exitCode === 0) return undefined;
  const text = dockerOutput(result.stdout, result.stderr);
  if (/no such container|already in progress|is not running/i.test(text)) return undefined;
  return result.timedOut ? `docker rm -f ${name} timed out` : firstErrorLine(text) || `docker rm -f ${name} failed`;
}

export interface RemoveSmokeContainersOptions {
  docker: DockerClient;
  /** Only the containers of this smoke run (its dib.smoke.id label); default: every smoke container. */
  runId?: string;
  timeoutMs?: number;
}

/**
 * Removes smoke containers left behind (e.g. by a server that was killed mid-test): `docker ps -aq --filter
 * label=dib.smoke=1` then `docker rm -f`. Without runId it also stops smoke tests running right now.
 */
export async function removeSmokeContainers(
  options: RemoveSmokeContainersOptions,
): Promise<{ removed: string[]; error?: string }> {
  return removeByLabel(options.docker, options.runId, options.timeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS);
}

async function removeByLabel(
  docker: DockerClient,
  runId: string | undefined,
  timeoutMs: number,
): Promise<{ removed: string[]; error?: string }> {
  const filter = runId === undefined ? `label=${SMOKE_LABEL}=1` : `label=${SMOKE_RUN_LABEL}=${runId}`;
  const list = await docker.run(['ps', '-aq', '--filter', filter], { timeoutMs });
  if (list.exitCode !== 0) {
    return { removed: [], error: firstErrorLine(dockerOutput(list.stdout, list.stderr)) || 'docker ps failed' };
  }
  const ids = list.stdout
    .split('\n')
    .map((id) => id.trim())
    .filter(Boolean);
  if (ids.length === 0) return { removed: [] };
  const removal = await docker.run(['rm', '-f', ...ids], { timeoutMs });
  const text = dockerOutput(removal.stdout, removal.stderr);
  if (removal.exitCode !== 0 && !/no such container|already in progress/i.test(text)) {
    return { removed: ids, error: firstErrorLine(text) || 'docker rm -f failed' };
  }
  return { removed: ids };
}

function validate(options: SmokeRunOptions): void {
  const image = options.image;
  if (typeof image !== 'string' || image.trim() === '') {
    throw new InputError('image', 'is empty.', 'Pass the image to test, e.g. the image_name build_image returned.');
  }
  // A leading dash would be read by docker as an option, and whitespace is never part of a reference.
  if (image.startsWith('-') || /[\s\0]/.test(image)) {
    throw new InputError('image', `"${image}" is not an image reference.`, 'Pass a reference like "name:tag".');
  }
  for (const [index, command] of (options.commands ?? []).entries()) {
    if (typeof command !== 'string' || command.trim() === '') {
      throw new InputError(`commands[${index}]`, 'is empty.', 'Give each command as a non-empty shell command line.');
    }
    if (command.includes('\0')) {
      throw new InputError(
        `commands[${index}]`,
        'contains a NUL character.',
        'Remove it; a command line cannot hold one.',
      );
    }
  }
  const timeout = options.timeoutSeconds;
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) {
    throw new InputError('timeout_seconds', `must be a positive number of seconds, got ${timeout}.`, 'Use e.g. 180.');
  }
}

function secondsText(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function exitText(code: number | undefined): string {
  if (code === 137) return 'exit code 137 (killed: SIGKILL, often out of memory)';
  if (code === 139) return 'exit code 139 (segmentation fault)';
  if (code === 134) return 'exit code 134 (aborted)';
  return code === undefined ? 'no exit code' : `exit code ${code}`;
}

function stoppedText(run: ContainerRun, timeoutMs: number, name: string): string {
  const removed = run.removeError
    ? ` Removing it failed (${run.removeError}); run \`docker rm -f ${name}\`.`
    : ' The container was removed.';
  return run.stoppedBy === 'abort'
    ? `Cancelled.${removed}`
    : `Did not finish within the ${secondsText(timeoutMs)} limit (timeout_seconds).${removed}`;
}

/** Why docker itself could not run the container (exit 125), with the next step for the common causes. */
function dockerErrorDetail(text: string): string {
  const line = firstErrorLine(text);
  if (/could not select device driver .*gpu/i.test(text)) {
    return (
      `Docker could not attach GPUs: ${line}. The NVIDIA Container Toolkit is not set up on this Docker host; ` +
      'install it, or run the smoke test with gpu: "off".'
    );
  }
  return `Docker could not start the container: ${line}`;
}

export class SmokeTester {
  private readonly docker: DockerClient;
  private readonly idGenerator: () => string;
  private readonly clock: () => number;
  private readonly controlTimeoutMs: number;

  constructor(options: SmokeTesterOptions) {
    this.docker = options.docker;
    this.idGenerator = options.idGenerator ?? (() => randomBytes(4).toString('hex'));
    this.clock = options.clock ?? (() => performance.now());
    this.controlTimeoutMs = options.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS;
  }

  async run(options: SmokeRunOptions, hooks: SmokeRunHooks = {}): Promise<SmokeResult> {
    validate(options);
    const { signal } = hooks;
    signal?.throwIfAborted();
    const runId = this.idGenerator();
    if (!ID_PATTERN.test(runId)) throw new Error(`idGenerator returned an unusable id: ${JSON.stringify(runId)}`);
    const started = this.clock();
    const state: RunState = {
      runId,
      image: options.image,
      timeoutMs: Math.round((options.timeoutSeconds ?? DEFAULT_SMOKE_TIMEOUT_SECONDS) * 1000),
      ...(options.platform ? { platform: options.platform } : {}),
      signal,
      onCheck: hooks.onCheck,
      checks: [],
      names: [],
      notes: [],
      stopped: false,
      result: { image: options.image, gpu_runtime: false, ...(options.platform ? { platform: options.platform } : {}) },
    };
    const pytorch = options.pytorch ?? 'auto';
    const commands = options.commands ?? [];
    try {
      await this.runChecks(state, pytorch, options.gpu ?? 'auto', commands);
    } finally {
      if (state.stopped) await this.sweep(state);
    }
    signal?.throwIfAborted();
    return {
      ...state.result,
      passed: state.checks.every((check) => check.status !== 'failed'),
      checks: state.checks,
      container_names: state.names,
      duration_ms: Math.max(0, Math.round(this.clock() - started)),
      notes: state.notes,
    };
  }

  private async runChecks(state: RunState, pytorch: SmokeMode, gpuMode: SmokeMode, commands: string[]): Promise<void> {
    const probeNames = pytorch === 'off' ? [] : [...BASE_PROBE_CHECKS, ...GPU_PROBE_CHECKS];
    const skipRest = (detail: string) => {
      for (const name of probeNames) this.add(state, skipped(name, detail));
      commands.forEach((_, index) => this.add(state, skipped(`command-${index + 1}`, detail)));
    };

    const inspectStarted = this.clock();
    const inspect = await this.docker.run(['image', 'inspect', '--format', '{{.Id}}', state.image], {
      timeoutMs: this.controlTimeoutMs,
      signal: state.signal,
    });
    state.signal?.throwIfAborted();
    if (inspect.exitCode !== 0) {
      const text = dockerOutput(inspect.stdout, inspect.stderr);
      let detail: string;
      if (inspect.notFound) {
        detail = `${inspect.command} was not found on PATH, so no container can start. Install Docker or fix PATH.`;
      } else if (/no such image/i.test(text)) {
        detail =
          `Image ${state.image} is not in the local image store. Build it (build_image) or \`docker pull\` it ` +
          'first; the smoke test does not pull.';
      } else {
        detail = `docker image inspect failed: ${inspect.timedOut ? 'timed out' : firstErrorLine(text) || exitText(inspect.exitCode)}`;
      }
      this.add(state, this.check('container-starts', 'failed', inspectStarted, text, detail));
      skipRest('Not run: the container did not start.');
      return;
    }

    const gpu = await this.planGpu(gpuMode, state.signal);
    state.signal?.throwIfAborted();
    state.result.gpu_runtime = gpu.used;
    if (gpu.note) state.notes.push(gpu.note);

    const python = await this.checkStart(state, gpu);
    if (python === false) {
      skipRest('Not run: the container did not start.');
      return;
    }
    if (python) state.result.python = python;

    if (pytorch !== 'off') await this.runProbe(state, pytorch, gpu, python);

    for (const [index, command] of commands.entries()) {
      await this.runCommand(state, gpu, index, command);
    }
  }

  private add(state: RunState, check: SmokeCheck): void {
    state.checks.push(check);
    state.onCheck?.(check);
  }

  private check(
    name: string,
    status: SmokeCheckStatus,
    startedAt: number,
    output: string,
    detail?: string,
  ): SmokeCheck {
    return {
      name,
      status,
      duration_ms: Math.max(0, Math.round(this.clock() - startedAt)),
      output_excerpt: excerpt(output),
      ...(detail ? { detail } : {}),
    };
  }

  private async planGpu(mode: SmokeMode, signal: AbortSignal | undefined): Promise<GpuPlan> {
    if (mode === 'off') {
      return { args: [], used: false, skipReason: 'Skipped: gpu is "off", so the container ran without GPUs.' };
    }
    const info = await this.docker.run(['info', '--format', '{{json .}}'], {
      timeoutMs: this.controlTimeoutMs,
      signal,
    });
    let runtimes: string[] = [];
    let cdiKinds: string[] = [];
    let infoError: string | undefined;
    try {
      const json = JSON.parse(info.stdout.slice(Math.max(0, info.stdout.indexOf('{')))) as {
        Runtimes?: Record<string, unknown> | null;
        DiscoveredDevices?: { Source?: string; ID?: string }[] | null;
      };
      runtimes = Object.keys(json.Runtimes ?? {});
      // CDI device ids look like "nvidia.com/gpu=0"; "<kind>=all" attaches every device of that kind.
      cdiKinds = [
        ...new Set(
          (json.DiscoveredDevices ?? [])
            .filter((device) => device.Source === 'cdi' && typeof device.ID === 'string' && /gpu/i.test(device.ID))
            .map((device) => (device.ID as string).split('=')[0] as string),
        ),
      ];
    } catch {
      infoError = info.timedOut ? 'docker info timed out' : firstErrorLine(dockerOutput(info.stdout, info.stderr));
    }
    if (runtimes.some((name) => /nvidia/i.test(name))) return { args: ['--gpus', 'all'], used: true, skipReason: '' };
    if (cdiKinds.length > 0) {
      return { args: cdiKinds.flatMap((kind) => ['--device', `${kind}=all`]), used: true, skipReason: '' };
    }
    const why = infoError
      ? `GPU detection failed (${infoError || 'docker info failed'})`
      : 'Docker reports no NVIDIA runtime and no CDI GPU devices (docker info)';
    if (mode === 'on') {
      return {
        args: ['--gpus', 'all'],
        used: true,
        skipReason: '',
        note: `${why}; gpu is "on", so --gpus all is used anyway.`,
      };
    }
    return {
      args: [],
      used: false,
      skipReason:
        `Skipped, not passed: ${why}, so the container ran without GPUs. ` +
        'Run on a host with an NVIDIA GPU and the NVIDIA Container Toolkit to check CUDA.',
      note: `${why}: CUDA checks were skipped.`,
    };
  }

  private containerArgs(
    state: RunState,
    name: string,
    gpu: GpuPlan,
    run: { entrypoint: string; args: string[]; network: 'none' | 'default' },
  ): string[] {
    const { entrypoint, args } = run;
    return [
      'run',
      '--rm',
      '--name',
      name,
      '--label',
      `${SMOKE_LABEL}=1`,
      '--label',
      `${SMOKE_RUN_LABEL}=${state.runId}`,
      // The built-in checks need no network; the caller's commands may.
      ...(run.network === 'none' ? ['--network', 'none'] : []),
      ...gpu.args,
      ...(state.platform ? ['--platform', state.platform] : []),
      // Always set, so an image whose ENTRYPOINT starts a training job or server does not run it.
      '--entrypoint',
      entrypoint,
      state.image,
      ...args,
    ];
  }

  /**
   * Starts one container and waits for it. The limit is enforced here with `docker rm -f` (killing only the docker
   * client would leave the container running); the runner's own timeout is a backstop for a hung daemon.
   */
  private async runContainer(state: RunState, name: string, args: string[]): Promise<ContainerRun> {
    state.names.push(name);
    const signal = state.signal;
    let stoppedBy: ContainerRun['stoppedBy'];
    let removal: Promise<string | undefined> | undefined;
    const stop = (why: 'timeout' | 'abort') => {
      if (stoppedBy) return;
      stoppedBy = why;
      state.stopped = true;
      removal = forceRemove(this.docker, name, this.controlTimeoutMs);
    };
    const timer = setTimeout(() => stop('timeout'), state.timeoutMs);
    const onAbort = () => stop('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    let result: CommandResult;
    try {
      result = await this.docker.run(args, { timeoutMs: state.timeoutMs + CLIENT_GRACE_MS, signal });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (!stoppedBy && (result.timedOut || result.cancelled || signal?.aborted)) {
      stop(result.timedOut ? 'timeout' : 'abort');
    }
    const removeError = removal ? await removal : undefined;
    return { result, stoppedBy, removeError };
  }

  private async sweep(state: RunState): Promise<void> {
    const swept = await removeByLabel(this.docker, state.runId, this.controlTimeoutMs);
    if (swept.error) {
      state.notes.push(
        `Could not remove the containers of this run (${swept.error}); ` +
          `run \`docker ps -aq --filter label=${SMOKE_RUN_LABEL}=${state.runId} | xargs docker rm -f\`.`,
      );
    }
  }

  /** The container-starts check. Returns the python path ('' when none), or false when the container did not start. */
  private async checkStart(state: RunState, gpu: GpuPlan): Promise<string | false> {
    const startedAt = this.clock();
    const name = `dib-smoke-${state.runId}-start`;
    const run = await this.runContainer(
      state,
      name,
      this.containerArgs(state, name, gpu, { entrypoint: 'sh', args: ['-c', PYTHON_DETECT_SCRIPT], network: 'none' }),
    );
    state.signal?.throwIfAborted();
    const { result } = run;
    const text = dockerOutput(result.stdout, result.stderr);
    if (!run.stoppedBy && result.exitCode === 0) {
      const python = /dib-python=(.*)$/m.exec(result.stdout)?.[1]?.trim() ?? '';
      this.add(
        state,
        this.check(
          'container-starts',
          'passed',
          startedAt,
          text,
          python
            ? `The container started; Python is ${python}.`
            : 'The container started; it has no python3 or python.',
        ),
      );
      return python;
    }
    // Images without a shell (distroless) still start; try Python directly so the PyTorch checks can run.
    if (!run.stoppedBy && /exec: "sh": executable file not found|"sh": no such file/i.test(text)) {
      for (const candidate of ['python3', 'python']) {
        const fallbackName = `dib-smoke-${state.runId}-start-${candidate}`;
        const fallback = await this.runContainer(
          state,
          fallbackName,
          this.containerArgs(state, fallbackName, gpu, {
            entrypoint: candidate,
            args: ['-c', 'import sys; print(sys.executable)'],
            network: 'none',
          }),
        );
        state.signal?.throwIfAborted();
        if (!fallback.stoppedBy && fallback.result.exitCode === 0) {
          const python = fallback.result.stdout.trim().split('\n').pop()?.trim() || candidate;
          this.add(
            state,
            this.check(
              'container-starts',
              'passed',
              startedAt,
              fallback.result.stdout,
              `The container started with ${python}. The image has no sh, so \`commands\` (run with sh -c) will fail.`,
            ),
          );
          return python;
        }
      }
      this.add(
        state,
        this.check(
          'container-starts',
          'failed',
          startedAt,
          text,
          'The image has neither sh nor python, so no check can run in it. Its own ENTRYPOINT is never started ' +
            'by the smoke test.',
        ),
      );
      return false;
    }
    let detail: string;
    if (run.stoppedBy) detail = stoppedText(run, state.timeoutMs, name);
    else if (EXEC_FORMAT_ERROR.test(text)) detail = await this.platformMismatchDetail(state, text);
    else if (result.exitCode === 125) detail = dockerErrorDetail(text);
    else detail = `\`sh -c\` in the image ended with ${exitText(result.exitCode)}: ${firstErrorLine(text)}`;
    this.add(state, this.check('container-starts', 'failed', startedAt, text, detail));
    return false;
  }

  /**
   * The container could not execute its first program: a binary for another CPU architecture than the host runs,
   * with no emulator registered. Says which platform the image is (docker image inspect) and what to do.
   */
  private async platformMismatchDetail(state: RunState, text: string): Promise<string> {
    const inspect = await this.docker.run(['image', 'inspect', '--format', IMAGE_PLATFORM_FORMAT, state.image], {
      timeoutMs: this.controlTimeoutMs,
      signal: state.signal,
    });
    const platform = inspect.exitCode === 0 ? inspect.stdout.trim() : '';
    const program = /exec (\S+): exec format error/.exec(text)?.[1] ?? 'sh';
    const image = platform ? `the image is ${platform} (docker image inspect)` : 'the image is for another platform';
    return (
      `Platform mismatch: ${image}${state.platform ? `, run as ${state.platform}` : ''}, and this Docker host cannot ` +
      `execute its ${program} (exec format error): it is a program for another CPU architecture and no emulator ` +
      'for it is registered. Build the image for the host platform, or register QEMU (qemu-user-static ' +
      'binfmt-support) to run it here.'
    );
  }

  private async runProbe(state: RunState, pytorch: SmokeMode, gpu: GpuPlan, python: string): Promise<void> {
    const gpuSkip = (name: string) => skipped(name, gpu.skipReason);
    if (!python) {
      const notTorch =
        pytorch === 'auto'
          ? 'Skipped: not a PyTorch image (no python3 or python in it).'
          : 'Not run: the image has no python3 or python.';
      if (pytorch === 'on') {
        this.add(state, {
          ...skipped('torch-import', ''),
          status: 'failed',
          detail: 'pytorch is "on" but the image has no python3 or python, so torch cannot be imported.',
        });
      } else {
        this.add(state, skipped('torch-import', notTorch));
      }
      for (const name of BASE_PROBE_CHECKS.slice(1)) this.add(state, skipped(name, notTorch));
      for (const name of GPU_PROBE_CHECKS) this.add(state, gpu.used ? skipped(name, notTorch) : gpuSkip(name));
      return;
    }

    const startedAt = this.clock();
    const name = `dib-smoke-${state.runId}-probe`;
    const run = await this.runContainer(
      state,
      name,
      this.containerArgs(state, name, gpu, {
        entrypoint: python,
        args: ['-u', '-c', PROBE_SCRIPT, JSON.stringify({ gpu: gpu.used })],
        network: 'none',
      }),
    );
    state.signal?.throwIfAborted();
    const probe = parseProbeOutput(run.result.stdout);
    if (probe.info?.python_version) state.result.python_version = probe.info.python_version;
    const expected = [...BASE_PROBE_CHECKS, ...(gpu.used ? GPU_PROBE_CHECKS : [])];
    const lines = new Map(probe.checks.map((line) => [line.name, line]));
    const firstMissing = expected.find((checkName) => !lines.has(checkName));
    const elapsed = this.clock() - startedAt;
    const judged = new ProbeJudge(state, pytorch, probe);

    for (const checkName of expected) {
      const line = lines.get(checkName);
      if (line) {
        this.add(state, judged.judge(line));
      } else if (checkName === firstMissing) {
        const stdoutRest = run.result.stdout
          .split('\n')
          .filter((l) => !l.includes('@@dib-smoke@@'))
          .join('\n');
        const text = dockerOutput(stdoutRest, run.result.stderr);
        let detail: string;
        if (run.stoppedBy) detail = `The PyTorch probe stopped here. ${stoppedText(run, state.timeoutMs, name)}`;
        else if (run.result.exitCode === 125) detail = dockerErrorDetail(text);
        else {
          detail =
            `${python} ended with ${exitText(run.result.exitCode)} during this check, so it and the checks after ` +
            `it have no result: ${firstErrorLine(text) || 'no error output'}`;
        }
        // The probe's checks before this one report their own time; this one gets what is left.
        const spent = probe.checks.reduce((sum, l) => sum + l.duration_ms, 0);
        this.add(state, {
          name: checkName,
          status: 'failed',
          duration_ms: Math.max(0, Math.round(elapsed - spent)),
          output_excerpt: excerpt(text),
          detail,
        });
      } else {
        this.add(state, skipped(checkName, `Not run: the PyTorch probe stopped at ${firstMissing}.`));
      }
    }
    if (!gpu.used) for (const checkName of GPU_PROBE_CHECKS) this.add(state, gpuSkip(checkName));
  }

  private async runCommand(state: RunState, gpu: GpuPlan, index: number, command: string): Promise<void> {
    const startedAt = this.clock();
    const name = `dib-smoke-${state.runId}-cmd-${index + 1}`;
    // The command is the caller's shell line for inside the image: one argv element for the image's sh, no host shell.
    const run = await this.runContainer(
      state,
      name,
      this.containerArgs(state, name, gpu, { entrypoint: 'sh', args: ['-c', command], network: 'default' }),
    );
    state.signal?.throwIfAborted();
    const text = dockerOutput(run.result.stdout, run.result.stderr);
    const shown = command.length > 200 ? `${command.slice(0, 200)}…` : command;
    let status: SmokeCheckStatus = 'failed';
    let detail: string;
    if (run.stoppedBy) detail = `\`${shown}\`: ${stoppedText(run, state.timeoutMs, name)}`;
    else if (run.result.exitCode === 0) {
      status = 'passed';
      detail = `\`${shown}\` exited 0.`;
    } else if (run.result.exitCode === 125) detail = `\`${shown}\`: ${dockerErrorDetail(text)}`;
    else detail = `\`${shown}\` ended with ${exitText(run.result.exitCode)}.`;
    this.add(state, this.check(`command-${index + 1}`, status, startedAt, text, detail));
  }
}

function skipped(name: string, detail: string): SmokeCheck {
  return { name, status: 'skipped', duration_ms: 0, output_excerpt: '', ...(detail ? { detail } : {}) };
}

/** Joins detail parts into sentences, so an error text without a full stop does not run into the hint. */
function sentences(...parts: (string | undefined)[]): string {
  return parts
    .map((part) => part?.trim())
    .filter((part): part is string => Boolean(part))
    .map((part) => (/[.!?]$/.test(part) ? part : `${part}.`))
    .join(' ');
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Turns the probe's raw lines into checks: the PyTorch knowledge (companions, known errors) lives here. */
class ProbeJudge {
  private readonly torchVersion?: string;
  private readonly torchMissing: boolean;
  private readonly pythonNote?: string;

  constructor(
    state: RunState,
    private readonly pytorch: SmokeMode,
    probe: ProbeOutput,
  ) {
    const torch = probe.checks.find((line) => line.name === 'torch-import');
    this.torchVersion = str(torch?.data.version);
    this.torchMissing = torch?.status === 'failed' && torch.missing_module === 'torch';
    const pythonVersion = probe.info?.python_version;
    if (this.torchVersion && pythonVersion) this.pythonNote = pythonSupportNote(this.torchVersion, pythonVersion);
    if (this.torchVersion) state.result.torch_version = this.torchVersion;
    const cuda = str(torch?.data.cuda);
    if (cuda) state.result.cuda_version = cuda;
    for (const [field, checkName] of [
      ['torchvision_version', 'torchvision-import'],
      ['torchaudio_version', 'torchaudio-import'],
    ] as const) {
      const version = str(probe.checks.find((line) => line.name === checkName)?.data.version);
      if (version) state.result[field] = version;
    }
  }

  judge(line: ProbeCheckLine): SmokeCheck {
    const base: SmokeCheck = {
      name: line.name,
      status: line.status,
      duration_ms: line.duration_ms,
      output_excerpt: excerpt(line.output),
    };
    const withDetail = (status: SmokeCheckStatus, detail: string | undefined): SmokeCheck => ({
      ...base,
      status,
      ...(detail ? { detail } : {}),
    });
    if (this.torchMissing && this.pytorch === 'auto') {
      return withDetail('skipped', 'Skipped: not a PyTorch image (torch is not installed).');
    }
    if (line.status === 'skipped') return withDetail('skipped', `Skipped: ${line.output || 'not applicable'}.`);
    switch (line.name) {
      case 'torch-import':
        return this.torchImport(line, withDetail);
      case 'torchvision-import':
      case 'torchaudio-import':
        return this.companion(line, line.name === 'torchvision-import' ? 'torchvision' : 'torchaudio', withDetail);
      default:
        return line.status === 'passed'
          ? withDetail('passed', undefined)
          : withDetail('failed', this.failureDetail(line));
    }
  }

  private torchImport(line: ProbeCheckLine, make: (s: SmokeCheckStatus, d?: string) => SmokeCheck): SmokeCheck {
    if (line.status === 'passed') {
      const cuda = str(line.data.cuda);
      const build = cuda ? `a CUDA ${cuda} build` : str(line.data.hip) ? 'a ROCm build' : 'a CPU-only build';
      return make('passed', sentences(`torch ${this.torchVersion ?? '?'} is ${build}`, this.pythonNote));
    }
    if (this.torchMissing) {
      return make('failed', 'pytorch is "on" but torch is not installed in the image (ModuleNotFoundError).');
    }
    return make('failed', this.failureDetail(line));
  }

  private companion(
    line: ProbeCheckLine,
    kind: 'torchvision' | 'torchaudio',
    make: (s: SmokeCheckStatus, d?: string) => SmokeCheck,
  ): SmokeCheck {
    if (line.status !== 'passed') return make('failed', this.failureDetail(line));
    const version = str(line.data.version);
    if (!version || !this.torchVersion) return make('passed', undefined);
    const verdict = checkCompanion(kind, this.torchVersion, version);
    const torchFlavour = buildFlavour(this.torchVersion);
    const flavour = buildFlavour(version);
    if (torchFlavour && flavour && torchFlavour !== flavour) {
      return make(
        'failed',
        `${kind} ${version} is a ${flavour} build but torch ${this.torchVersion} is a ${torchFlavour} build; ` +
          `install ${kind} from the same wheel index as torch.`,
      );
    }
    if (verdict.verdict === 'mismatch') return make('failed', verdict.message);
    return make('passed', verdict.message);
  }

  /** A failed check's error plus the next step for the errors PyTorch images are known for. */
  private failureDetail(line: ProbeCheckLine): string {
    const error = line.error ?? 'failed';
    const text = `${line.error ?? ''}\n${line.output}`;
    const torch = this.torchVersion ? `torch ${this.torchVersion}` : 'torch';
    const vision = this.torchVersion ? expectedCompanion('torchvision', this.torchVersion) : undefined;
    const visionBuild = vision ? `torchvision ${vision}.*` : 'the torchvision release';
    let hint: string | undefined;
    if (/operator torchvision::\w+ does not exist|Couldn't load custom C\+\+ ops/i.test(text)) {
      hint =
        `torchvision's compiled ops did not load into ${torch} (version, CPU-vs-CUDA or ABI mismatch). Install ` +
        `${visionBuild} built for this torch, from the same index (a +cpu torch needs the +cpu torchvision).`;
    } else if (/compiled with different CUDA (major )?versions/i.test(text)) {
      hint = `torch and ${line.name.split('-')[0]} come from different CUDA indexes; install both from the same cuXXX index.`;
    } else if (/undefined symbol/i.test(text)) {
      hint = `A compiled extension was built against a different torch than ${torch}; reinstall it to match torch.`;
    } else if (/libcudart\.so|libcu\w*\.so[.\d]*: cannot open shared object/i.test(text)) {
      hint = 'A CUDA library is missing or from another CUDA major version; use matching CUDA builds throughout.';
    } else if (/driver on your system is too old|driver version is insufficient/i.test(text)) {
      hint =
        'The host NVIDIA driver is older than this torch CUDA build needs: update the driver or use an older cuXXX build.';
    } else if (/no kernel image is available|not compatible with the current PyTorch installation/i.test(text)) {
      hint = 'This torch build has no kernels for the GPU architecture; use a torch CUDA build that supports this GPU.';
    } else if (/CPU-only build|not compiled with CUDA enabled/i.test(text)) {
      hint = 'Install a CUDA build of torch (e.g. from https://download.pytorch.org/whl/cu126) to use the GPU.';
    } else if (line.name === 'cuda-available') {
      hint = 'GPUs were attached but torch cannot use them: check the host driver against the torch CUDA build.';
    }
    return sentences(error, hint, this.pythonNote);
  }
}
