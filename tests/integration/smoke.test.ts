import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { smokeResultSchema, type SmokeResult } from '../../src/build-model/smoke-schema.js';
import { DockerClient, dockerInvocationFor } from '../../src/docker/client.js';
import { SmokeTester } from '../../src/smoke/smoke-tester.js';
import { ExecaCommandRunner } from '../../src/util/command-runner.js';
import { findExecutable } from '../../src/util/find-executable.js';
import { TEST_BASE_IMAGE, TEST_TORCH_IMAGE } from '../support/docker.js';
import { engines, ready } from '../support/engines.js';

// Images made by scripts/provision-docker.sh (override with the same variables it reads).
const DEBIAN = TEST_BASE_IMAGE;
const TORCH = TEST_TORCH_IMAGE;

const DOCKER = (await findExecutable('docker')) ?? 'docker';
const ID_PREFIX = `it${randomBytes(3).toString('hex')}`;
let counter = 0;

describe.each(engines())('smoke tests on the $title', (engine) => {
  if (!ready(engine)) return;
  const docker = (args: string[]) => {
    const result = engine.docker(args, { timeoutMs: 30_000 });
    return { ok: result.status === 0, stdout: result.stdout };
  };
  /** Smoke containers of this test file that still exist; they all carry dib.smoke=1 and a name with ID_PREFIX. */
  function leftovers(): string[] {
    const list = docker(['ps', '-a', '--filter', 'label=dib.smoke=1', '--format', '{{.Names}}']);
    expect(list.ok).toBe(true);
    return list.stdout
      .split('\n')
      .map((name) => name.trim())
      .filter((name) => name.startsWith(`dib-smoke-${ID_PREFIX}`));
  }

  function newTester(): { tester: SmokeTester; id: () => string } {
    let last = '';
    const tester = new SmokeTester({
      docker: new DockerClient(
        dockerInvocationFor({
          cliPath: DOCKER,
          useSudo: false,
          env: { ...process.env, ...engine.env },
          builder: 'legacy',
        }),
        new ExecaCommandRunner(),
      ),
      idGenerator: () => (last = `${ID_PREFIX}-${++counter}`),
    });
    return { tester, id: () => last };
  }

  function statuses(result: SmokeResult): Record<string, string> {
    return Object.fromEntries(result.checks.map((check) => [check.name, check.status]));
  }

  function requireImage(image: string): void {
    expect(docker(['image', 'inspect', image]).ok, `${image} is missing: run scripts/provision-docker.sh`).toBe(true);
  }

  afterEach(() => {
    const left = leftovers();
    if (left.length > 0) docker(['rm', '-f', ...left]);
    expect(left, 'smoke containers were left behind').toEqual([]);
  });

  it('checks the Debian PyTorch image: imports, versions, nms and tensors pass; CUDA is skipped', async () => {
    requireImage(TORCH);
    const { tester } = newTester();
    const started = Date.now();
    const result = await tester.run({ image: TORCH, gpu: 'auto' });
    const elapsed = Date.now() - started;
    console.log(`smoke test of ${TORCH}: ${elapsed} ms`, JSON.stringify(statuses(result)));
    expect(smokeResultSchema.parse(result)).toEqual(result);

    const status = statuses(result);
    for (const name of ['container-starts', 'torch-import', 'torchvision-import', 'torchaudio-import']) {
      expect(status[name], name).toBe('passed');
    }
    // Debian's torchvision (a CPU build) has working compiled ops, so nms runs on CPU.
    expect(status['torchvision-nms']).toBe('passed');
    expect(status['tensor-op']).toBe('passed');
    for (const name of ['cuda-available', 'cuda-version', 'nccl', 'gpu-tensor-op'])
      expect(status[name]).toBe('skipped');
    expect(result.gpu_runtime).toBe(false);
    expect(result.torch_version).toMatch(/^\d+\.\d+/);
    expect(result.torchvision_version).toMatch(/^0\.\d+/);
    expect(result.torchaudio_version).toMatch(/^\d+\.\d+/);
    expect(result.cuda_version).toBeUndefined();
    expect(result.python).toBe('/usr/bin/python3');

    // Debian 13's torch 2.6 / torchvision 0.21 / torchaudio 2.6 on Python 3.13 is a consistent stack.
    // (Debian 12's torch 1.13 on Python 3.11 is not: fsdp fails to import there; the unit tests cover that output.)
    expect(status['fsdp-import']).toBe('passed');
    expect(result.torch_version).toMatch(/^2\.6/);
    expect(result.passed).toBe(true);
  });

  it('checks a plain Debian image: it starts, torch checks are skipped, commands decide', async () => {
    requireImage(DEBIAN);
    const { tester } = newTester();
    const result = await tester.run({ image: DEBIAN, commands: ['test -f /etc/debian_version', 'false'] });
    const status = statuses(result);
    expect(status['container-starts']).toBe('passed');
    for (const name of ['torch-import', 'torchvision-nms', 'fsdp-import', 'tensor-op', 'cuda-available']) {
      expect(status[name], name).toBe('skipped');
    }
    expect(result.checks.find((check) => check.name === 'torch-import')?.detail).toMatch(/not a PyTorch image/);
    expect(status['command-1']).toBe('passed');
    expect(status['command-2']).toBe('failed');
    expect(result.checks.find((check) => check.name === 'command-2')?.detail).toBe('`false` ended with exit code 1.');
    expect(result.passed).toBe(false);
    expect(result.python).toBeUndefined();
  });

  it('stops a hung command at its timeout and removes the container', async () => {
    requireImage(DEBIAN);
    const { tester } = newTester();
    const started = Date.now();
    const result = await tester.run({ image: DEBIAN, pytorch: 'off', commands: ['sleep 600'], timeoutSeconds: 3 });
    const elapsed = Date.now() - started;
    console.log(`hung command with a 3 s limit: ${elapsed} ms`);
    const command = result.checks.find((check) => check.name === 'command-1');
    expect(command).toMatchObject({ status: 'failed', detail: expect.stringMatching(/within the 3 s limit/) });
    console.log(`command check took ${command?.duration_ms} ms`);
    // The limit plus docker rm -f; generous because the 2 shared cores can be busy.
    expect(command?.duration_ms).toBeGreaterThanOrEqual(3_000);
    expect(command?.duration_ms).toBeLessThan(9_000);
    expect(elapsed).toBeLessThan(20_000);
  });

  it('removes the running container within seconds when cancelled', async () => {
    requireImage(DEBIAN);
    const { tester, id } = newTester();
    const controller = new AbortController();
    const running = tester.run(
      { image: DEBIAN, pytorch: 'off', commands: ['sleep 600'] },
      { signal: controller.signal },
    );
    const settled = running.catch((error: unknown) => error);
    // Abort once the command's container really runs, so the test covers a live container.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const names = docker(['ps', '--filter', `label=dib.smoke.id=${id()}`, '--format', '{{.Names}}']).stdout;
      if (names.includes('-cmd-1')) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const abortedAt = Date.now();
    controller.abort();
    const error = await settled;
    const elapsed = Date.now() - abortedAt;
    console.log(`cancel to container gone: ${elapsed} ms`);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(elapsed).toBeLessThan(8_000);
  });

  it('fails container-starts for an image that is not local, without pulling', async () => {
    const { tester } = newTester();
    const result = await tester.run({ image: 'dib-test/does-not-exist:never', commands: ['true'] });
    expect(result.checks[0]).toMatchObject({ name: 'container-starts', status: 'failed' });
    expect(result.checks[0]?.detail).toMatch(/not in the local image store/);
    expect(result.container_names).toEqual([]);
  });
});
