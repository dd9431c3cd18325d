// A use_sudo build against the real daemon, where docker only works when started through sudo: every docker call
// the product makes (probe, build, image inspect, smoke containers) must go through `sudo -n`, with the Docker
// variables passed as sudo's VAR=value arguments because sudo resets the environment. On the modern engine this is a
// user whose `sudo docker` reaches a non-default engine (DOCKER_HOST) with buildx from their DOCKER_CONFIG: both must
// survive sudo, or the build lands on another daemon or without buildx.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersWithLabel, imageExists, makeContext, removeImagesFrom, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready, type Engine } from '../support/engines.js';
import { startServer, type StartedServer } from '../support/mcp-client.js';

interface BuildResult {
  success: boolean;
  status: string;
  image_name: string;
  mode: string;
  build_id: string;
  record: {
    image_id?: string;
    image_size_bytes?: number;
    error?: { kind: string; summary: string };
    smoke?: { passed: boolean; checks: { name: string; status: string; detail?: string }[] };
    attempts: { builder?: string }[];
  };
}

interface SudoSetup {
  /** The docker CLI the wrapper runs once sudo let it. */
  realDocker: string;
  /** The Docker variables the user has set, which must reach every docker call through sudo. */
  env: Record<string, string>;
  /** The builder the probe should select. */
  builder: 'buildkit' | 'legacy';
}

function sudoSetup(engine: Engine): SudoSetup {
  if (engine.name === 'modern') {
    // The CLI on PATH, which finds buildx in the engine's DOCKER_CONFIG (the host's 20.10 client would not).
    const onPath = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
    return { realDocker: onPath, env: { ...engine.env }, builder: 'buildkit' };
  }
  // The engine's own 20.10 client runs its built-in BuildKit, which needs DOCKER_BUILDKIT=1 to survive sudo; the
  // newer one without buildx does not.
  const realDocker = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : '/usr/local/bin/docker';
  return {
    realDocker,
    env: { DOCKER_HOST: 'unix:///var/run/docker.sock' },
    builder: realDocker === '/usr/bin/docker' ? 'buildkit' : 'legacy',
  };
}

/**
 * A stand-in for sudo: records its arguments, insists on -n, then runs the command as sudo does, in a fresh
 * environment holding only a minimal PATH/HOME, a marker, and the VAR=value arguments (which `env` applies).
 */
function sudoShim(log: string): string {
  return `#!/bin/sh
printf '%s' "$*" | tr '\\n' ' ' | head -c 300 >> '${log}'; echo >> '${log}'
if [ "$1" != "-n" ]; then echo "sudo shim: called without -n (sudo would prompt for a password)" >&2; exit 1; fi
shift
exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DIB_VIA_SUDO_SHIM=1 "$@"
`;
}

/** A docker that refuses, as a daemon socket owned by root does, unless it was started through the sudo shim. */
function dockerWrapper(log: string, realDocker: string): string {
  return `#!/bin/sh
printf 'via-sudo=%s DOCKER_HOST=%s DOCKER_CONFIG=%s DOCKER_BUILDKIT=%s args=%s %s\\n' "\${DIB_VIA_SUDO_SHIM:-0}" \\
  "\${DOCKER_HOST:-}" "\${DOCKER_CONFIG:-}" "\${DOCKER_BUILDKIT:-}" "$1" "$2" >> '${log}'
if [ "\${DIB_VIA_SUDO_SHIM:-}" != "1" ]; then
  echo "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get \\"http://%2Fvar%2Frun%2Fdocker.sock/v1.41/version\\": dial unix /var/run/docker.sock: connect: permission denied" >&2
  exit 1
fi
exec ${realDocker} "$@"
`;
}

describe.each(engines())('build_image with use_sudo, where docker only works through sudo ($title)', (engine) => {
  if (!ready(engine)) return;
  const setup = sudoSetup(engine);
  let server: StartedServer;
  let sudoLog: string;
  let dockerLog: string;
  const image = `dib-e2e-sudo-${engine.name}-${process.pid}`;

  beforeAll(async () => {
    const bin = await tempDir('sudo-shim');
    sudoLog = path.join(bin, 'sudo.log');
    dockerLog = path.join(bin, 'docker.log');
    await writeFile(path.join(bin, 'sudo'), sudoShim(sudoLog));
    await writeFile(path.join(bin, 'docker'), dockerWrapper(dockerLog, setup.realDocker));
    await chmod(path.join(bin, 'sudo'), 0o755);
    await chmod(path.join(bin, 'docker'), 0o755);
    server = await startServer({
      DIB_STATE_DIR: await tempDir('state'),
      DIB_DOCKER: path.join(bin, 'docker'),
      ...setup.env,
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    });
  });
  afterAll(async () => {
    await server?.close();
    removeImagesFrom(engine.env, `${image}:latest`);
  });

  it('succeeds with an image id and size and a passing smoke test, every docker call made through sudo -n', async () => {
    const context = await makeContext({
      Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN echo built-through-sudo > /built\n`,
    });
    const result = await server.client.callTool(
      {
        name: 'build_image',
        arguments: {
          context,
          image_name: image,
          use_sudo: true,
          force_local: true,
          smoke_commands: ['test -f /built'],
        },
      },
      undefined,
      { timeout: 600_000, resetTimeoutOnProgress: true },
    );
    const data = result.structuredContent as unknown as BuildResult;
    const calls = await readFile(dockerLog, 'utf8');
    expect(result.isError, `${JSON.stringify(data?.record?.error ?? result.content)}\n${calls}`).toBeFalsy();
    expect(data).toMatchObject({ success: true, status: 'succeeded', mode: 'local' });
    expect(data.record.image_id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(data.record.image_size_bytes).toBeGreaterThan(0);
    expect(imageExists(`${image}:latest`, engine.env)).toBe(true);
    expect(data.record.smoke?.passed, JSON.stringify(data.record.smoke)).toBe(true);
    expect(data.record.smoke?.checks.find((check) => check.name === 'command-1')?.status).toBe('passed');
    expect(containersWithLabel(`dib.smoke.id=${data.build_id}`, engine.env)).toEqual([]);

    // Every docker call came through the sudo shim, with DOCKER_HOST (and DOCKER_CONFIG, where buildx lives) carried
    // across sudo's environment reset.
    const dockerCalls = calls.trim().split('\n');
    const subcommands = dockerCalls.map((line) => / args=(\S+)/.exec(line)?.[1]);
    for (const expected of ['version', 'info', 'image', 'run']) expect(subcommands).toContain(expected);
    const carried = `DOCKER_HOST=${setup.env.DOCKER_HOST} DOCKER_CONFIG=${setup.env.DOCKER_CONFIG ?? ''} `;
    for (const line of dockerCalls) expect(line).toContain(`via-sudo=1 ${carried}`);
    // The builder choice reached the build through sudo too.
    const buildCall = dockerCalls.find((line) => / args=(?:buildx )?build /.test(line));
    expect(buildCall, calls).toBeDefined();
    const builder = data.record.attempts[0]?.builder;
    expect(builder).toBe(setup.builder);
    expect(buildCall).toContain(`DOCKER_BUILDKIT=${builder === 'buildkit' ? '1' : '0'} `);
    // sudo was always asked not to prompt and given the wrapper by its absolute path.
    const sudoCalls = (await readFile(sudoLog, 'utf8')).split('\n').filter(Boolean);
    // Every docker call went through sudo (via-sudo=1 above); a probe that its timeout stopped between sudo and the
    // docker wrapper (a loaded machine) leaves a sudo call without a docker line, never the other way round.
    expect(sudoCalls.length).toBeGreaterThanOrEqual(dockerCalls.length);
    for (const line of sudoCalls) expect(line).toMatch(/^-n (?:[A-Z_]+=\S* )*\/\S+\/docker /);
  });

  it('smoke_test with use_sudo runs the built image through sudo as well', async () => {
    const before = (await readFile(dockerLog, 'utf8')).length;
    const result = await server.client.callTool({
      name: 'smoke_test',
      arguments: { image: `${image}:latest`, use_sudo: true, pytorch: 'off', commands: ['test -f /built'] },
    });
    const data = result.structuredContent as { passed: boolean; checks: { name: string; status: string }[] };
    const calls = (await readFile(dockerLog, 'utf8')).slice(before).trim().split('\n');
    expect(data?.passed, `${JSON.stringify(result.content)}\n${calls.join('\n')}`).toBe(true);
    expect(calls.some((line) => line.includes(' args=run '))).toBe(true);
    for (const line of calls) expect(line).toMatch(/^via-sudo=1 /);
  });
});
