import { describe, expect, it } from 'vitest';
import { PROBE_SCRIPT } from '../../../src/smoke/probe-script.js';
import { smokeResultSchema, type SmokeCheck, type SmokeResult } from '../../../src/build-model/smoke-schema.js';
import { removeSmokeContainers, SmokeTester, type SmokeTesterOptions } from '../../../src/smoke/smoke-tester.js';
import { DockerClient, type DockerInvocation } from '../../../src/docker/client.js';
import type { CommandRunner } from '../../../src/util/command-runner.js';
import { InputError } from '../../../src/util/errors.js';
import {
  dockerScript,
  FakeDocker,
  healthyProbe,
  probeDone,
  probeInfo,
  probeLine,
  type FakeHandler,
} from './fake-docker.js';

const IMAGE = 'fsdp:latest';
const LABELS = ['--label', 'dib.smoke=1', '--label', 'dib.smoke.id=run1'];

/** A client on the fake, as the probe would decide it: `docker`, no sudo, unless the test says otherwise. */
function client(runner: CommandRunner, invocation: Partial<DockerInvocation> = {}): DockerClient {
  return new DockerClient({ path: 'docker', sudo: false, env: {}, builder: 'legacy', ...invocation }, runner);
}

function tester(
  handler: FakeHandler,
  options: Partial<Omit<SmokeTesterOptions, 'docker'>> = {},
  invocation: Partial<DockerInvocation> = {},
) {
  const fake = new FakeDocker(handler);
  let now = 0;
  const smoke = new SmokeTester({
    docker: client(fake, invocation),
    idGenerator: () => 'run1',
    clock: () => (now += 10),
    ...options,
  });
  return { fake, smoke };
}

function byName(result: SmokeResult): Record<string, SmokeCheck> {
  return Object.fromEntries(result.checks.map((check) => [check.name, check]));
}

const CUDA_CHECKS = ['cuda-available', 'cuda-version', 'nccl', 'gpu-tensor-op'];

describe('SmokeTester docker arguments', () => {
  it('starts labelled, named --rm containers with the entrypoint overridden and no --gpus without a GPU runtime', async () => {
    const { fake, smoke } = tester(dockerScript());
    const result = await smoke.run({ image: IMAGE, commands: ['test -f /etc/os-release'] });

    const calls = fake.dockerCalls();
    expect(calls[0]).toEqual(['image', 'inspect', '--format', '{{.Id}}', IMAGE]);
    expect(calls[1]).toEqual(['info', '--format', '{{json .}}']);
    const [start, probe, command] = fake.runCalls();
    expect(start).toEqual([
      'run',
      '--rm',
      '--name',
      'dib-smoke-run1-start',
      ...LABELS,
      '--network',
      'none',
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      expect.stringContaining('for p in python3 python'),
    ]);
    expect(probe).toEqual([
      'run',
      '--rm',
      '--name',
      'dib-smoke-run1-probe',
      ...LABELS,
      '--network',
      'none',
      '--entrypoint',
      '/usr/bin/python3',
      IMAGE,
      '-u',
      '-c',
      PROBE_SCRIPT,
      '{"gpu":false}',
    ]);
    // The caller's command is one argv element for the image's own sh; no host shell is involved.
    expect(command).toEqual([
      'run',
      '--rm',
      '--name',
      'dib-smoke-run1-cmd-1',
      ...LABELS,
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      'test -f /etc/os-release',
    ]);
    for (const args of fake.runCalls()) expect(args).not.toContain('--gpus');
    expect(fake.calls.every((call) => call.command === 'docker')).toBe(true);
    expect(result.container_names).toEqual(['dib-smoke-run1-start', 'dib-smoke-run1-probe', 'dib-smoke-run1-cmd-1']);
    expect(result.passed).toBe(true);
    expect(result.gpu_runtime).toBe(false);
    expect(smokeResultSchema.parse(result)).toEqual(result);
  });

  it('adds --gpus all to every container and runs the CUDA checks when Docker has an NVIDIA runtime', async () => {
    const { fake, smoke } = tester(
      dockerScript({ runtimes: ['runc', 'nvidia'], probe: { stdout: healthyProbe({ gpu: true, cuda: '12.6' }) } }),
    );
    const result = await smoke.run({ image: IMAGE, commands: ['nvidia-smi'] });
    for (const args of fake.runCalls()) {
      const gpus = args.indexOf('--gpus');
      expect(args[gpus + 1]).toBe('all');
      expect(gpus).toBeLessThan(args.indexOf(IMAGE));
    }
    expect(fake.runCalls()[1]?.at(-1)).toBe('{"gpu":true}');
    const checks = byName(result);
    for (const name of CUDA_CHECKS) expect(checks[name]?.status).toBe('passed');
    expect(result.gpu_runtime).toBe(true);
    expect(result.cuda_version).toBe('12.6');
    expect(result.passed).toBe(true);
  });

  it('uses CDI devices when Docker lists CDI GPUs but no NVIDIA runtime', async () => {
    const handler: FakeHandler = (call) =>
      call.args[0] === 'info'
        ? {
            stdout: JSON.stringify({
              Runtimes: { runc: {} },
              DiscoveredDevices: [
                { Source: 'cdi', ID: 'nvidia.com/gpu=0' },
                { Source: 'cdi', ID: 'nvidia.com/gpu=1' },
              ],
            }),
          }
        : dockerScript({ probe: { stdout: healthyProbe({ gpu: true }) } })(call);
    const { fake, smoke } = tester(handler);
    const result = await smoke.run({ image: IMAGE });
    const start = fake.runCalls()[0] ?? [];
    expect(start.slice(start.indexOf('--device'), start.indexOf('--device') + 2)).toEqual([
      '--device',
      'nvidia.com/gpu=all',
    ]);
    expect(start).not.toContain('--gpus');
    expect(result.gpu_runtime).toBe(true);
  });

  it('never asks docker info and attaches no GPU with gpu "off"', async () => {
    const { fake, smoke } = tester(dockerScript({ runtimes: ['nvidia'] }));
    const result = await smoke.run({ image: IMAGE, gpu: 'off' });
    expect(fake.dockerCalls().some((args) => args[0] === 'info')).toBe(false);
    for (const args of fake.runCalls()) expect(args).not.toContain('--gpus');
    for (const name of CUDA_CHECKS) expect(byName(result)[name]?.detail).toMatch(/gpu is "off"/);
  });

  it('prefixes every docker call with sudo -n when useSudo is set', async () => {
    const { fake, smoke } = tester(dockerScript(), {}, { sudo: true, path: '/usr/bin/docker' });
    await smoke.run({ image: IMAGE });
    for (const call of fake.calls) {
      expect(call.command).toBe('sudo');
      expect(call.args.slice(0, 2)).toEqual(['-n', '/usr/bin/docker']);
    }
  });

  it('gives every docker call a timeout', async () => {
    const { fake, smoke } = tester(dockerScript());
    await smoke.run({ image: IMAGE, commands: ['true'], timeoutSeconds: 5 });
    for (const call of fake.calls) expect(call.options.timeoutMs).toBeGreaterThan(0);
    for (const call of fake.calls.filter((c) => c.args[0] === 'run')) expect(call.options.timeoutMs).toBe(20_000);
  });
});

describe('SmokeTester results', () => {
  it('reports CUDA checks as skipped, not passed, without a GPU runtime, and still passes the run', async () => {
    const { smoke } = tester(dockerScript());
    const seen: string[] = [];
    const result = await smoke.run(
      { image: IMAGE },
      { onCheck: (check) => seen.push(`${check.name}:${check.status}`) },
    );
    const checks = byName(result);
    for (const name of CUDA_CHECKS) {
      expect(checks[name]?.status).toBe('skipped');
      expect(checks[name]?.detail).toMatch(/no NVIDIA runtime/);
    }
    expect(result.passed).toBe(true);
    expect(result.notes.join(' ')).toMatch(/CUDA checks were skipped/);
    expect(seen).toEqual(result.checks.map((check) => `${check.name}:${check.status}`));
    expect(seen[0]).toBe('container-starts:passed');
    expect(result).toMatchObject({
      torch_version: '2.7.1+cu126',
      torchvision_version: '0.22.1+cu126',
      torchaudio_version: '2.7.1+cu126',
      python: '/usr/bin/python3',
      python_version: '3.11.2',
    });
  });

  it('reports the torchvision::nms ABI break as a failed nms check without hiding the torch result', async () => {
    const traceback = [
      'Traceback (most recent call last):',
      '  File "/usr/local/lib/python3.11/site-packages/torchvision/_meta_registrations.py", line 163, in <module>',
      '    @torch.library.register_fake("torchvision::nms")',
      'RuntimeError: operator torchvision::nms does not exist',
    ].join('\n');
    const probe = healthyProbe({
      torch: '2.2.1+cpu',
      torchvision: '0.17.1',
      torchaudio: '2.2.1+cpu',
      overrides: {
        'torchvision-nms': {
          status: 'failed',
          error: 'RuntimeError: operator torchvision::nms does not exist',
          output: traceback,
        },
      },
    });
    const { smoke } = tester(dockerScript({ probe: { stdout: probe } }));
    const result = await smoke.run({ image: IMAGE });
    const checks = byName(result);
    expect(checks['torch-import']?.status).toBe('passed');
    expect(checks['torchvision-import']?.status).toBe('passed');
    expect(checks['torchvision-nms']?.status).toBe('failed');
    expect(checks['torchvision-nms']?.output_excerpt).toContain('operator torchvision::nms does not exist');
    expect(checks['torchvision-nms']?.detail).toMatch(/compiled ops did not load into torch 2\.2\.1\+cpu/);
    expect(checks['torchvision-nms']?.detail).toMatch(/torchvision 0\.17\.\*/);
    expect(checks['tensor-op']?.status).toBe('passed');
    expect(result.passed).toBe(false);
    expect(result.torch_version).toBe('2.2.1+cpu');
  });

  it('fails torchvision-import when torchvision belongs to another torch release', async () => {
    const probe = healthyProbe({ torch: '2.7.1+cu126', torchvision: '0.15.2+cu118', torchaudio: '2.7.1' });
    const { smoke } = tester(dockerScript({ probe: { stdout: probe } }));
    const result = await smoke.run({ image: IMAGE });
    const checks = byName(result);
    expect(checks['torchvision-import']?.status).toBe('failed');
    expect(checks['torchvision-import']?.detail).toMatch(/torch 2\.7 needs torchvision 0\.22\.\*/);
    expect(checks['torchaudio-import']?.status).toBe('passed');
    expect(result.passed).toBe(false);
  });

  it('fails a CPU torchvision next to a CUDA torch', async () => {
    const probe = healthyProbe({ torch: '2.7.1+cu126', torchvision: '0.22.1+cpu' });
    const { smoke } = tester(dockerScript({ probe: { stdout: probe } }));
    const checks = byName(await smoke.run({ image: IMAGE }));
    expect(checks['torchvision-import']?.status).toBe('failed');
    expect(checks['torchvision-import']?.detail).toMatch(/cpu build but torch 2\.7\.1\+cu126 is a cuda build/);
  });

  it('passes unknown newer versions with a note instead of failing them', async () => {
    const probe = healthyProbe({ torch: '2.16.0', torchvision: '0.40.0', torchaudio: '2.11.0' });
    const { smoke } = tester(dockerScript({ probe: { stdout: probe } }));
    const result = await smoke.run({ image: IMAGE });
    const checks = byName(result);
    expect(checks['torchvision-import']?.status).toBe('passed');
    expect(checks['torchvision-import']?.detail).toMatch(/not in the known compatibility table/);
    expect(checks['torchaudio-import']?.status).toBe('passed');
    expect(result.passed).toBe(true);
  });

  it('reports torch checks as skipped on an image without torch when pytorch is "auto"', async () => {
    const probe = [
      probeInfo(),
      probeLine('torch-import', {
        status: 'failed',
        error: "ModuleNotFoundError: No module named 'torch'",
        missing_module: 'torch',
      }),
      ...['torchvision-import', 'torchaudio-import', 'fsdp-import', 'tensor-op'].map((name) =>
        probeLine(name, { status: 'skipped', output: 'torch did not import' }),
      ),
      probeLine('torchvision-nms', { status: 'skipped', output: 'torchvision did not import' }),
      probeDone(),
    ].join('\n');
    const { smoke } = tester(dockerScript({ probe: { stdout: probe } }));
    const result = await smoke.run({ image: 'python:3.12-slim' });
    for (const name of ['torch-import', 'torchvision-import', 'torchvision-nms', 'fsdp-import', 'tensor-op']) {
      expect(byName(result)[name]).toMatchObject({
        status: 'skipped',
        detail: expect.stringMatching(/not a PyTorch image/),
      });
    }
    expect(result.passed).toBe(true);

    const strict = tester(dockerScript({ probe: { stdout: probe } }));
    const failed = await strict.smoke.run({ image: 'python:3.12-slim', pytorch: 'on' });
    expect(byName(failed)['torch-import']).toMatchObject({ status: 'failed' });
    expect(byName(failed)['tensor-op']?.status).toBe('skipped');
    expect(failed.passed).toBe(false);
  });

  it('skips the probe on an image without python, and fails torch-import only when pytorch is "on"', async () => {
    const { fake, smoke } = tester(dockerScript({ python: '' }));
    const result = await smoke.run({ image: 'debian:bookworm' });
    expect(fake.runCalls().map((args) => args[3])).toEqual(['dib-smoke-run1-start']);
    expect(byName(result)['torch-import']).toMatchObject({ status: 'skipped' });
    expect(result.passed).toBe(true);
    const strict = tester(dockerScript({ python: '' }));
    expect((await strict.smoke.run({ image: 'debian:bookworm', pytorch: 'on' })).passed).toBe(false);
  });

  it('runs no PyTorch check with pytorch "off"', async () => {
    const { fake, smoke } = tester(dockerScript());
    const result = await smoke.run({ image: IMAGE, pytorch: 'off', commands: ['true'] });
    expect(result.checks.map((check) => check.name)).toEqual(['container-starts', 'command-1']);
    expect(fake.runCalls()).toHaveLength(2);
  });

  it('fails the check the probe crashed in and skips the ones after it', async () => {
    const stdout = healthyProbe({ only: ['torch-import', 'torchvision-import'], done: false });
    const { smoke } = tester(
      dockerScript({ probe: { stdout, exitCode: 139, stderr: 'Fatal Python error: Segmentation fault' } }),
    );
    const result = await smoke.run({ image: IMAGE });
    const checks = byName(result);
    expect(checks['torch-import']?.status).toBe('passed');
    expect(checks['torchaudio-import']).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/exit code 139 \(segmentation fault\)/),
      output_excerpt: 'Fatal Python error: Segmentation fault',
    });
    expect(checks['torchvision-nms']).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/stopped at torchaudio-import/),
    });
    expect(result.passed).toBe(false);
  });

  it('fails custom commands that exit non-zero and keeps their output', async () => {
    const { smoke } = tester(
      dockerScript({
        commands: { 'pip check': { exitCode: 1, stdout: 'torchvision 0.15.2 has requirement torch==2.0.1' } },
      }),
    );
    const result = await smoke.run({ image: IMAGE, commands: ['true', 'pip check'] });
    expect(byName(result)['command-1']?.status).toBe('passed');
    expect(byName(result)['command-2']).toMatchObject({
      status: 'failed',
      detail: '`pip check` ended with exit code 1.',
      output_excerpt: 'torchvision 0.15.2 has requirement torch==2.0.1',
    });
    expect(result.passed).toBe(false);
  });

  it('fails container-starts without running anything when the image is not local', async () => {
    const { fake, smoke } = tester(dockerScript({ imageMissing: true }));
    const result = await smoke.run({ image: 'nope:1', commands: ['true'] });
    expect(fake.runCalls()).toEqual([]);
    expect(byName(result)['container-starts']).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/not in the local image store.*does not pull/),
    });
    expect(result.checks.filter((check) => check.status !== 'skipped').map((c) => c.name)).toEqual([
      'container-starts',
    ]);
    expect(result.passed).toBe(false);
  });

  it('explains exec format error as a platform mismatch, naming the image platform, and runs as the asked platform', async () => {
    const base = dockerScript({ start: { exitCode: 1, stderr: 'exec /usr/bin/sh: exec format error' } });
    const { fake, smoke } = tester((call) =>
      call.args.includes('{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}')
        ? { stdout: 'linux/arm64\n' }
        : base(call),
    );
    const result = await smoke.run({ image: 'app:v1-arm64', platform: 'linux/arm64' });
    expect(fake.runCalls()[0]).toEqual(expect.arrayContaining(['--platform', 'linux/arm64']));
    expect(result.platform).toBe('linux/arm64');
    expect(byName(result)['container-starts']).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(
        /^Platform mismatch: the image is linux\/arm64 \(docker image inspect\), run as linux\/arm64, .*cannot execute its \/usr\/bin\/sh \(exec format error\).*register QEMU/,
      ),
    });
  });

  it('says so when the docker CLI is missing', async () => {
    const { smoke } = tester(() => ({ exitCode: undefined, notFound: true }));
    const result = await smoke.run({ image: IMAGE });
    expect(result.checks[0]).toMatchObject({ status: 'failed', detail: expect.stringMatching(/docker was not found/) });
    expect(result.passed).toBe(false);
  });

  it('explains a GPU request Docker cannot satisfy', async () => {
    const gpuError = {
      exitCode: 125,
      stderr:
        'docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].\n' +
        "Run 'docker run --help' for more information",
    };
    const { smoke } = tester(dockerScript({ start: gpuError }));
    const result = await smoke.run({ image: IMAGE, gpu: 'on' });
    expect(byName(result)['container-starts']).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/NVIDIA Container Toolkit/),
    });
    expect(byName(result)['container-starts']?.output_excerpt).not.toMatch(/--help/);
    expect(result.gpu_runtime).toBe(true);
  });

  it('falls back to python when the image has no sh', async () => {
    const handler: FakeHandler = (call) => {
      const name = call.args[call.args.indexOf('--name') + 1] ?? '';
      if (name.endsWith('-start')) {
        return {
          exitCode: 127,
          stderr: 'docker: Error response from daemon: exec: "sh": executable file not found in $PATH: unknown',
        };
      }
      if (name.endsWith('-start-python3')) return { stdout: '/usr/bin/python3.12' };
      return dockerScript()(call);
    };
    const { fake, smoke } = tester(handler);
    const result = await smoke.run({ image: 'gcr.io/distroless/python3' });
    expect(byName(result)['container-starts']).toMatchObject({
      status: 'passed',
      detail: expect.stringMatching(/no sh/),
    });
    expect(fake.runCalls()[2]?.[fake.runCalls()[2]!.indexOf('--entrypoint') + 1]).toBe('/usr/bin/python3.12');
  });
});

describe('SmokeTester stopping containers', () => {
  it('removes a container that outlives the timeout and fails its check', async () => {
    const { fake, smoke } = tester(dockerScript({ commands: { 'sleep 600': 'hang' } }));
    const started = Date.now();
    const result = await smoke.run({ image: IMAGE, pytorch: 'off', commands: ['sleep 600'], timeoutSeconds: 0.05 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(byName(result)['command-1']).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/Did not finish within the 0\.1 s limit.*container was removed/),
    });
    const calls = fake.dockerCalls();
    expect(calls).toContainEqual(['rm', '-f', 'dib-smoke-run1-cmd-1']);
    // The run's label is swept too, for a container a killed client created after the rm.
    expect(calls).toContainEqual(['ps', '-aq', '--filter', 'label=dib.smoke.id=run1']);
    expect(result.passed).toBe(false);
  });

  it('removes the container when the runner itself reports a timeout', async () => {
    const { fake, smoke } = tester(
      dockerScript({ probe: { timedOut: true, exitCode: undefined, stdout: probeInfo() } }),
    );
    const result = await smoke.run({ image: IMAGE });
    expect(fake.dockerCalls()).toContainEqual(['rm', '-f', 'dib-smoke-run1-probe']);
    expect(byName(result)['torch-import']).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/probe stopped here/),
    });
    expect(byName(result)['tensor-op']?.status).toBe('skipped');
  });

  it('reports a container it could not remove, naming the command to run', async () => {
    const handler: FakeHandler = (call) =>
      call.args[0] === 'rm'
        ? { exitCode: 1, stderr: 'Error response from daemon: cannot kill: permission denied' }
        : dockerScript({ commands: { 'sleep 9': 'hang' } })(call);
    const { smoke } = tester(handler);
    const result = await smoke.run({ image: IMAGE, pytorch: 'off', commands: ['sleep 9'], timeoutSeconds: 0.05 });
    expect(byName(result)['command-1']?.detail).toMatch(/Removing it failed .*docker rm -f dib-smoke-run1-cmd-1/);
  });

  it('on abort removes the running container by name, sweeps the run label and rejects', async () => {
    const { fake, smoke } = tester(dockerScript({ commands: { 'sleep 600': 'hang' } }));
    const controller = new AbortController();
    const seen: string[] = [];
    const running = smoke.run(
      { image: IMAGE, pytorch: 'off', commands: ['sleep 600'] },
      {
        signal: controller.signal,
        onCheck: (check) => {
          seen.push(check.name);
        },
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    const calls = fake.dockerCalls();
    expect(calls).toContainEqual(['rm', '-f', 'dib-smoke-run1-cmd-1']);
    expect(calls).toContainEqual(['ps', '-aq', '--filter', 'label=dib.smoke.id=run1']);
    // The cleanup calls must not carry the aborted signal, or they would be cancelled at once.
    for (const call of fake.calls.filter((c) => c.args[0] === 'rm' || c.args[0] === 'ps')) {
      expect(call.options.signal).toBeUndefined();
    }
    expect(seen).toEqual(['container-starts']);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const { fake, smoke } = tester(dockerScript());
    await expect(smoke.run({ image: IMAGE }, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(fake.calls).toEqual([]);
  });
});

describe('SmokeTester input', () => {
  it.each([
    [{ image: '' }, 'image'],
    [{ image: '--privileged' }, 'image'],
    [{ image: 'a b' }, 'image'],
    [{ image: IMAGE, commands: ['  '] }, 'commands[0]'],
    [{ image: IMAGE, timeoutSeconds: 0 }, 'timeout_seconds'],
  ])('refuses %j naming the field', async (options, field) => {
    const { fake, smoke } = tester(dockerScript());
    const error = await smoke.run(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
    expect(fake.calls).toEqual([]);
  });
});

describe('removeSmokeContainers', () => {
  it('lists containers by the smoke label and removes them', async () => {
    const fake = new FakeDocker((call) => (call.args[0] === 'ps' ? { stdout: 'abc123\ndef456\n' } : { exitCode: 0 }));
    const result = await removeSmokeContainers({ docker: client(fake) });
    expect(fake.dockerCalls()).toEqual([
      ['ps', '-aq', '--filter', 'label=dib.smoke=1'],
      ['rm', '-f', 'abc123', 'def456'],
    ]);
    expect(result).toEqual({ removed: ['abc123', 'def456'] });
  });

  it('does nothing when no container is left, and reports a docker failure', async () => {
    const empty = new FakeDocker(() => ({ stdout: '' }));
    expect(await removeSmokeContainers({ docker: client(empty), runId: 'r1' })).toEqual({ removed: [] });
    expect(empty.dockerCalls()).toEqual([['ps', '-aq', '--filter', 'label=dib.smoke.id=r1']]);
    const broken = new FakeDocker(() => ({ exitCode: 1, stderr: 'Cannot connect to the Docker daemon' }));
    expect(await removeSmokeContainers({ docker: client(broken) })).toMatchObject({
      removed: [],
      error: /Cannot connect/,
    });
  });
});
