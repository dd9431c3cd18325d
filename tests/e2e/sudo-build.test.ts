// A use_sudo build against the real daemon, where docker only works when started through sudo: every docker call
// the product makes (probe, build, image inspect, smoke containers) must go through `sudo -n`, with the Docker
// variables passed as sudo's VAR=value arguments because sudo resets the environment.
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersWithLabel, imageExists, makeContext, removeImages, tempDir } from '../support/build-fixtures.js';
import { dockerAvailable, skipWithoutDocker, TEST_BASE_IMAGE } from '../support/docker.js';
import { startServer, type StartedServer } from '../support/mcp-client.js';

interface BuildResult {
  success: boolean;
  status: string;
  image_name: string;
  mode: string;
  record: {
    image_id?: string;
    image_size_bytes?: number;
    error?: { kind: string; summary: string };
    smoke?: { passed: boolean; checks: { name: string; status: string; detail?: string }[] };
    attempts: { builder?: string }[];
  };
}

/** The engine's own 20.10 client runs its built-in BuildKit, which needs DOCKER_BUILDKIT=1 to survive sudo. */
const REAL_DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : '/usr/local/bin/docker';
const DOCKER_HOST = 'unix:///var/run/docker.sock';

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
function dockerWrapper(log: string): string {
  return `#!/bin/sh
printf 'via-sudo=%s DOCKER_HOST=%s DOCKER_BUILDKIT=%s args=%s %s\\n' "\${DIB_VIA_SUDO_SHIM:-0}" "\${DOCKER_HOST:-}" \\
  "\${DOCKER_BUILDKIT:-}" "$1" "$2" >> '${log}'
if [ "\${DIB_VIA_SUDO_SHIM:-}" != "1" ]; then
  echo "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get \\"http://%2Fvar%2Frun%2Fdocker.sock/v1.41/version\\": dial unix /var/run/docker.sock: connect: permission denied" >&2
  exit 1
fi
exec ${REAL_DOCKER} "$@"
`;
}

describe.skipIf(skipWithoutDocker)('build_image with use_sudo, where docker only works through sudo', () => {
  let server: StartedServer;
  let sudoLog: string;
  let dockerLog: string;
  const image = `dib-e2e-sudo-${process.pid}`;

  beforeAll(async () => {
    expect(dockerAvailable, 'a Docker daemon must answer (run scripts/provision-docker.sh)').toBe(true);
    const bin = await tempDir('sudo-shim');
    sudoLog = path.join(bin, 'sudo.log');
    dockerLog = path.join(bin, 'docker.log');
    await writeFile(path.join(bin, 'sudo'), sudoShim(sudoLog));
    await writeFile(path.join(bin, 'docker'), dockerWrapper(dockerLog));
    await chmod(path.join(bin, 'sudo'), 0o755);
    await chmod(path.join(bin, 'docker'), 0o755);
    server = await startServer({
      DIB_STATE_DIR: await tempDir('state'),
      DIB_DOCKER: path.join(bin, 'docker'),
      DOCKER_HOST,
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    });
  });
  afterAll(async () => {
    await server?.close();
    removeImages(`${image}:latest`);
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
    expect(imageExists(`${image}:latest`)).toBe(true);
    expect(data.record.smoke?.passed, JSON.stringify(data.record.smoke)).toBe(true);
    expect(data.record.smoke?.checks.find((check) => check.name === 'command-1')?.status).toBe('passed');
    expect(containersWithLabel('dib.smoke=1')).toEqual([]);

    // Every docker call came through the sudo shim, with DOCKER_HOST carried across sudo's environment reset.
    const dockerCalls = calls.trim().split('\n');
    const subcommands = dockerCalls.map((line) => / args=(\S+)/.exec(line)?.[1]);
    for (const expected of ['version', 'info', 'build', 'image', 'run']) expect(subcommands).toContain(expected);
    for (const line of dockerCalls) expect(line).toMatch(new RegExp(`^via-sudo=1 DOCKER_HOST=${DOCKER_HOST} `));
    // The builder choice reached the build through sudo too.
    const buildCall = dockerCalls.find((line) => line.includes(' args=build '));
    const builder = data.record.attempts[0]?.builder;
    // The engine's 20.10 client has BuildKit built in (the probe selects it); the newer one without buildx does not.
    expect(builder).toBe(REAL_DOCKER === '/usr/bin/docker' ? 'buildkit' : 'legacy');
    expect(buildCall).toContain(`DOCKER_BUILDKIT=${builder === 'buildkit' ? '1' : '0'} `);
    // sudo was always asked not to prompt and given the wrapper by its absolute path.
    const sudoCalls = (await readFile(sudoLog, 'utf8')).split('\n').filter(Boolean);
    expect(sudoCalls.length).toBe(dockerCalls.length);
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
