import type { CommandOptions, CommandResult, CommandRunner } from '../../../src/util/command-runner.js';
import { PROBE_MARKER } from '../../../src/smoke/probe-script.js';
import { commandResult } from '../../support/fake-runner.js';

export interface RecordedCall {
  command: string;
  args: string[];
  options: CommandOptions;
}

/** 'hang' = a container that runs until `docker rm -f <its name>` or until the call's signal aborts. */
export type FakeReply = Partial<CommandResult> | 'hang';
export type FakeHandler = (call: RecordedCall) => FakeReply | undefined;

/** A CommandRunner that records every call and answers from a handler, so tests can assert exact docker argv. */
export class FakeDocker implements CommandRunner {
  readonly calls: RecordedCall[] = [];
  private readonly hanging = new Map<string, (result: Partial<CommandResult>) => void>();

  constructor(private readonly handler: FakeHandler) {}

  async run(command: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
    const call: RecordedCall = { command, args: [...args], options };
    this.calls.push(call);
    const dockerArgs = command === 'sudo' ? call.args.slice(2) : call.args;
    if (dockerArgs[0] === 'rm' && dockerArgs[1] === '-f') {
      for (const name of dockerArgs.slice(2)) this.hanging.get(name)?.({ exitCode: 137 });
    }
    let reply = this.handler(call) ?? {};
    if (reply === 'hang') {
      const name = dockerArgs[dockerArgs.indexOf('--name') + 1] ?? '';
      reply = await new Promise<Partial<CommandResult>>((resolve) => {
        this.hanging.set(name, resolve);
        options.signal?.addEventListener('abort', () => resolve({ exitCode: undefined, cancelled: true }), {
          once: true,
        });
      });
      this.hanging.delete(name);
    }
    return commandResult(command, args, reply);
  }

  /** The docker argv of each call (without a sudo prefix). */
  dockerCalls(): string[][] {
    return this.calls.map((call) => (call.command === 'sudo' ? call.args.slice(2) : call.args));
  }

  runCalls(): string[][] {
    return this.dockerCalls().filter((args) => args[0] === 'run');
  }
}

export interface ProbeLineInput {
  status?: 'passed' | 'failed' | 'skipped';
  output?: string;
  error?: string;
  missing_module?: string;
  data?: Record<string, unknown>;
  duration_ms?: number;
}

export function probeLine(name: string, input: ProbeLineInput = {}): string {
  return `${PROBE_MARKER}${JSON.stringify({
    kind: 'check',
    name,
    status: input.status ?? 'passed',
    output: input.output ?? `${name} ok`,
    duration_ms: input.duration_ms ?? 5,
    data: input.data ?? {},
    ...(input.error ? { error: input.error } : {}),
    ...(input.missing_module ? { missing_module: input.missing_module } : {}),
  })}`;
}

export const probeInfo = (pythonVersion = '3.11.2') =>
  `${PROBE_MARKER}${JSON.stringify({ kind: 'info', python_version: pythonVersion, executable: '/usr/bin/python3' })}`;
export const probeDone = () => `${PROBE_MARKER}{"kind": "done"}`;

/** Probe output of a healthy image; `overrides` replaces single check lines. */
export function healthyProbe(
  options: {
    torch?: string;
    torchvision?: string;
    torchaudio?: string;
    cuda?: string | null;
    gpu?: boolean;
    overrides?: Record<string, ProbeLineInput>;
    python?: string;
    done?: boolean;
    only?: string[];
  } = {},
): string {
  const defaults: Record<string, ProbeLineInput> = {
    'torch-import': { data: { version: options.torch ?? '2.7.1+cu126', cuda: options.cuda ?? null, hip: null } },
    'torchvision-import': { data: { version: options.torchvision ?? '0.22.1+cu126' } },
    'torchaudio-import': { data: { version: options.torchaudio ?? '2.7.1+cu126' } },
    'torchvision-nms': {},
    'fsdp-import': {},
    'tensor-op': {},
  };
  if (options.gpu) {
    Object.assign(defaults, {
      'cuda-available': { data: { devices: ['NVIDIA A10G'] } },
      'cuda-version': { data: { cuda: '12.6' } },
      nccl: { data: { version: '2.26.2' } },
      'gpu-tensor-op': {},
    });
  }
  const names = options.only ?? Object.keys(defaults);
  const lines = [probeInfo(options.python)];
  for (const name of names) lines.push(probeLine(name, { ...defaults[name], ...options.overrides?.[name] }));
  if (options.done !== false) lines.push(probeDone());
  return lines.join('\n');
}

export interface ScriptOptions {
  /** Runtimes in `docker info`; include "nvidia" for a GPU host. */
  runtimes?: string[];
  imageMissing?: boolean;
  python?: string;
  probe?: FakeReply;
  commands?: Record<string, FakeReply>;
  start?: FakeReply;
}

/** A handler that plays a Docker host: image inspect, info, the start container, the probe and commands. */
export function dockerScript(options: ScriptOptions = {}): FakeHandler {
  return (call) => {
    const args = call.command === 'sudo' ? call.args.slice(2) : call.args;
    const [sub] = args;
    if (sub === 'image') {
      return options.imageMissing
        ? { exitCode: 1, stderr: `Error response from daemon: No such image: ${args[args.length - 1]}` }
        : { stdout: 'sha256:0123' };
    }
    if (sub === 'info') {
      const runtimes = Object.fromEntries((options.runtimes ?? ['runc']).map((name) => [name, { path: name }]));
      return { stdout: JSON.stringify({ ServerVersion: '20.10.24', Runtimes: runtimes }) };
    }
    if (sub === 'run') {
      const name = args[args.indexOf('--name') + 1] ?? '';
      if (name.endsWith('-start')) {
        return options.start ?? { stdout: `dib-python=${options.python ?? '/usr/bin/python3'}` };
      }
      if (name.endsWith('-probe')) return options.probe ?? { stdout: healthyProbe() };
      const command = args[args.length - 1] ?? '';
      return options.commands?.[command] ?? { exitCode: 0 };
    }
    return { exitCode: 0 };
  };
}
