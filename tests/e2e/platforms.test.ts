/**
 * Platforms through the built CLI, against real engines: an arm64 image built on this amd64 host (QEMU), two
 * platforms the way each engine allows (one image per platform on the classic image store, one manifest list on
 * the containerd image store), the platform guard of analyze_dockerfile, and a smoke test that hits a real
 * `exec format error` diagnosed as a platform mismatch.
 *
 * The exec format error is made real without touching the machine's QEMU registration (other tests rely on it):
 * the image's /bin/sh is replaced by a file with a 64-bit ELF header for RISC-V, an architecture no emulator is
 * registered for here, so the kernel refuses to execute it exactly as it refuses any binary for a foreign CPU.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/build-model/record-schema.js';
import { makeContext, tempDir } from '../support/build-fixtures.js';
import { containerdEngine, containerdReady } from '../support/containerd-engine.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready, type Engine } from '../support/engines.js';
import { builtServer } from '../support/mcp-client.js';

const BUILD_TIMEOUT_MS = 300_000;

function cli(env: Record<string, string>, stateDir: string, args: string[]) {
  const result = spawnSync(process.execPath, [builtServer, ...args], {
    env: { ...process.env, ...env, DIB_STATE_DIR: stateDir, AWS_EC2_METADATA_DISABLED: 'true' },
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The record of the build the CLI printed (its JSON on stdout names the build id). */
function recordOf(stateDir: string, stdout: string): BuildRecord {
  const { build_id: id } = JSON.parse(stdout) as { build_id: string };
  return JSON.parse(
    readFileSync(path.join(stateDir, 'builds', encodeURIComponent(id), 'record.json'), 'utf8'),
  ) as BuildRecord;
}

/** A 64-bit ELF header for RISC-V (e_machine 243), executable: the kernel answers ENOEXEC on x86_64 and arm64. */
function foreignElf(): Buffer {
  const header = Buffer.alloc(0x80);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header, 0);
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE(243, 18); // EM_RISCV
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(0x10078n, 24);
  header.writeBigUInt64LE(64n, 32);
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(56, 54);
  header.writeUInt16LE(1, 56);
  return header;
}

function riscvRegistered(): boolean {
  try {
    return readFileSync('/proc/sys/fs/binfmt_misc/qemu-riscv64', 'utf8').startsWith('enabled');
  } catch {
    return false;
  }
}

const architecture = (run: (args: string[]) => { stdout: string }, ref: string) =>
  run(['image', 'inspect', '--format', '{{.Architecture}}', ref]).stdout.trim();

describe.each(engines('arm64'))('$title', (engine: Engine) => {
  if (!ready(engine)) return;
  const run = `${process.pid}-${Date.now().toString(36)}`;
  const base = `dib-test/platforms-base-${run}`;
  const images: string[] = [];
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await tempDir('platforms-state');
    if (engine.skipArm64) return;
    // One base name, one tag per architecture: FROM base:${TARGETARCH} picks the right one for each platform.
    expect(engine.docker(['tag', TEST_BASE_IMAGE, `${base}:amd64`]).status).toBe(0);
    expect(engine.docker(['tag', engine.arm64Image!, `${base}:arm64`]).status).toBe(0);
    images.push(`${base}:amd64`, `${base}:arm64`);
  });
  afterAll(() => {
    if (images.length > 0) engine.docker(['image', 'rm', '-f', ...images]);
  });

  it.skipIf(engine.skipArm64)(
    'builds an arm64 image on this amd64 host: docker image inspect says arm64, and it runs as aarch64',
    async () => {
      const context = await makeContext({
        Dockerfile: `FROM ${engine.arm64Image}\nRUN uname -m > /machine\n`,
      });
      const image = `platforms-arm64-${run}`;
      images.push(`${image}:v1`);
      const result = cli(engine.env, stateDir, [
        'build',
        ...['--context', context, '--image-name', image, '--image-tag', 'v1'],
        ...['--platform', 'linux/arm64', '--smoke-command', 'test "$(cat /machine)" = aarch64', '--quiet'],
      ]);
      expect(result.status, result.stdout + result.stderr).toBe(0);
      const record = recordOf(stateDir, result.stdout);
      expect(record.status).toBe('succeeded');
      expect(record.smoke?.platform).toBeUndefined(); // one platform: no per-platform smoke
      expect(architecture(engine.docker, `${image}:v1`)).toBe('arm64');
    },
    BUILD_TIMEOUT_MS,
  );

  it.skipIf(engine.skipArm64)(
    'builds two platforms on the classic image store as one image per platform, each smoke-tested as its platform',
    async () => {
      const context = await makeContext({
        Dockerfile: `FROM ${base}:\${TARGETARCH}\nRUN uname -m > /machine\nCMD ["cat", "/machine"]\n`,
      });
      const image = `platforms-two-${run}`;
      images.push(`${image}:v1`, `${image}:v1-amd64`, `${image}:v1-arm64`);
      const result = cli(engine.env, stateDir, [
        'build',
        ...['--context', context, '--image-name', image, '--image-tag', 'v1', '--quiet'],
        ...['--platform', 'linux/amd64,linux/arm64', '--smoke-command', 'cat /machine'],
      ]);
      expect(result.status, result.stdout + result.stderr).toBe(0);
      const record = recordOf(stateDir, result.stdout);
      expect(record.platform_build).toMatchObject({
        mode: 'per-platform',
        reason: expect.stringMatching(/classic image store .*holds one platform per tag/),
        images: [
          { platform: 'linux/amd64', image_ref: `${image}:v1-amd64`, smoke_passed: true },
          { platform: 'linux/arm64', image_ref: `${image}:v1-arm64`, smoke_passed: true },
        ],
      });
      const [amd64, arm64] = record.platform_build!.images;
      expect(engine.docker(['image', 'inspect', '--format', '{{.Id}}', `${image}:v1-arm64`]).stdout.trim()).toBe(
        arm64!.image_id,
      );
      expect(architecture(engine.docker, `${image}:v1-amd64`)).toBe('amd64');
      expect(architecture(engine.docker, `${image}:v1-arm64`)).toBe('arm64');
      // name:tag is the first platform's image.
      expect(record.image_id).toBe(amd64!.image_id);
      expect(engine.docker(['run', '--rm', `${image}:v1-arm64`]).stdout.trim()).toBe('aarch64');
      expect(engine.docker(['run', '--rm', `${image}:v1`]).stdout.trim()).toBe('x86_64');
    },
    BUILD_TIMEOUT_MS,
  );

  it.skipIf(engine.skipArm64)(
    'analyze_dockerfile flags a local arm64 base for an amd64 build (docker image inspect)',
    async () => {
      const context = await makeContext({ Dockerfile: `FROM ${engine.arm64Image}\nRUN true\n` });
      const result = cli(engine.env, stateDir, [
        'analyze',
        '--context',
        context,
        '--platform',
        'linux/amd64',
        '--json',
      ]);
      const analysis = JSON.parse(result.stdout) as {
        findings: { category: string; severity: string; message: string }[];
      };
      expect(analysis.findings).toContainEqual(
        expect.objectContaining({
          category: 'platform-mismatch',
          severity: 'error',
          message: expect.stringContaining(`${engine.arm64Image} is linux/arm64 (docker image inspect)`),
        }),
      );
      // The same file for arm64 is fine.
      const arm = cli(engine.env, stateDir, ['analyze', '--context', context, '--platform', 'linux/arm64', '--json']);
      expect(JSON.parse(arm.stdout).findings.map((f: { category: string }) => f.category)).not.toContain(
        'platform-mismatch',
      );
    },
    BUILD_TIMEOUT_MS,
  );
});

describe.each(engines())('$title: a real exec format error', (engine: Engine) => {
  if (!ready(engine)) return;
  const image = `platforms-foreign-${process.pid}-${Date.now().toString(36)}`;
  afterAll(() => engine.docker(['image', 'rm', '-f', `${image}:v1`]));

  it.skipIf(riscvRegistered())(
    'a smoke test whose sh is a binary for another architecture fails as a platform mismatch, with the fix',
    async () => {
      const context = await makeContext({
        // No RUN after the COPY: the build itself never executes the foreign sh, the smoke test does.
        Dockerfile: `FROM ${TEST_BASE_IMAGE}\nCOPY foreign-sh /usr/bin/dash\n`,
      });
      await writeFile(path.join(context, 'foreign-sh'), foreignElf());
      await chmod(path.join(context, 'foreign-sh'), 0o755);
      const stateDir = await tempDir('platforms-foreign');
      const result = cli(engine.env, stateDir, [
        'build',
        ...['--context', context, '--image-name', image, '--image-tag', 'v1', '--max-attempts', '1', '--quiet'],
      ]);
      expect(result.status).not.toBe(0);
      const record = recordOf(stateDir, result.stdout);
      expect(record.status).toBe('failed');
      expect(record.error).toMatchObject({
        kind: 'platform-mismatch',
        summary: expect.stringContaining('exec format error'),
        next_step: expect.stringMatching(/qemu-user-static binfmt-support/),
      });
      const start = record.smoke?.checks.find((check) => check.name === 'container-starts');
      expect(start).toMatchObject({
        status: 'failed',
        detail: expect.stringMatching(/^Platform mismatch: the image is linux\/amd64 \(docker image inspect\)/),
      });
    },
    BUILD_TIMEOUT_MS,
  );
});

describe.each(engines())('$title: the platform guard', (engine: Engine) => {
  if (!ready(engine)) return;
  it('analyze_dockerfile flags the local amd64 base for an arm64 build, and not for an amd64 one', async () => {
    const context = await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN true\n` });
    const stateDir = await tempDir('platforms-guard');
    const analyze = (platform: string) => {
      const result = cli(engine.env, stateDir, ['analyze', '--context', context, '--platform', platform, '--json']);
      return (JSON.parse(result.stdout) as { findings: { category: string; message: string }[] }).findings.filter(
        (finding) => finding.category === 'platform-mismatch',
      );
    };
    expect(analyze('linux/arm64')).toEqual([
      expect.objectContaining({ message: expect.stringContaining(`${TEST_BASE_IMAGE} is linux/amd64`) }),
    ]);
    expect(analyze('linux/amd64')).toEqual([]);
  });
});

describe('containerd image store', () => {
  const engine = containerdEngine();
  if (!containerdReady(engine)) return;
  const run = `${process.pid}-${Date.now().toString(36)}`;
  const base = `dib-test/platforms-base-${run}`;
  const image = `platforms-list-${run}`;
  beforeAll(() => {
    expect(engine.docker(['tag', engine.baseImage, `${base}:amd64`]).status).toBe(0);
    expect(engine.docker(['tag', engine.arm64Image, `${base}:arm64`]).status).toBe(0);
  });
  afterAll(() => engine.docker(['image', 'rm', '-f', `${base}:amd64`, `${base}:arm64`, `${image}:v1`]));

  it(
    `${engine.title}: builds two platforms as one manifest list, each platform smoke-tested`,
    async () => {
      const context = await makeContext({
        Dockerfile: `FROM ${base}:\${TARGETARCH}\nRUN uname -m > /machine\nCMD ["cat", "/machine"]\n`,
      });
      const stateDir = await tempDir('platforms-list');
      const result = cli(engine.env, stateDir, [
        'build',
        ...['--context', context, '--image-name', image, '--image-tag', 'v1', '--quiet'],
        ...['--platform', 'linux/amd64', '--platform', 'linux/arm64', '--smoke-command', 'cat /machine'],
      ]);
      expect(result.status, result.stdout + result.stderr).toBe(0);
      const record = recordOf(stateDir, result.stdout);
      const listId = engine.docker(['image', 'inspect', '--format', '{{.Id}}', `${image}:v1`]).stdout.trim();
      expect(record.image_id).toBe(listId);
      expect(record.platform_build).toEqual({
        mode: 'manifest-list',
        reason: expect.stringContaining('containerd image store'),
        images: [
          { platform: 'linux/amd64', image_ref: `${image}:v1`, image_id: listId, smoke_passed: true },
          { platform: 'linux/arm64', image_ref: `${image}:v1`, image_id: listId, smoke_passed: true },
        ],
      });
      // One tag, both platforms: docker picks the manifest for the platform asked.
      for (const [platform, machine] of [
        ['linux/amd64', 'x86_64'],
        ['linux/arm64', 'aarch64'],
      ]) {
        expect(engine.docker(['run', '--rm', '--platform', platform!, `${image}:v1`]).stdout.trim()).toBe(machine);
      }
    },
    BUILD_TIMEOUT_MS,
  );
});
