/** A Dockerfile (or a file it copies in) that is a symlink leaving the context is never read, by any path. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuildImageParams } from '../../../src/build-model/api.js';
import type { BuildRequest } from '../../../src/build-model/attempt.js';
import { Builds } from '../../../src/builds/builds.js';
import { prepareSources } from '../../../src/builds/fixes.js';
import { loadConfig } from '../../../src/config.js';
import { analyzeDockerfile } from '../../../src/dockerfile/analyze.js';
import { InputError } from '../../../src/util/errors.js';

const SECRET_LINE = 'root:$6$secret-hash:19000:0:99999:7:::';

let dir: string;
let context: string;
let secret: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dib-confine-'));
  context = path.join(dir, 'ctx');
  await mkdir(context);
  secret = path.join(dir, 'shadow');
  await writeFile(secret, `${SECRET_LINE}\nsecond line\n`);
  await symlink(secret, path.join(context, 'Dockerfile'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fakeBuilds() {
  const launches: string[] = [];
  const commands: string[][] = [];
  const builds = new Builds({
    config: { ...loadConfig({}), stateDir: path.join(dir, 'state') },
    env: {},
    runner: {
      run: async (command: string, args: string[]) => {
        commands.push([command, ...args]);
        throw new Error('no commands in this test');
      },
    } as never,
    launcher: {
      launch: async (buildId: string) => {
        launches.push(buildId);
        return { pid: 1 };
      },
    },
  });
  return { builds, launches, commands };
}

async function refusal(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('sources confined to the build context', () => {
  it('build_image refuses a Dockerfile symlinked outside the context before anything starts', async () => {
    const { builds, launches, commands } = fakeBuilds();
    const params = {
      context,
      dockerfile: 'Dockerfile',
      imageName: 'demo',
      imageTag: 'latest',
      forceLocal: true,
      forceCodebuild: false,
      codebuildProject: 'p',
      buildArgs: {},
      labels: {},
    } as unknown as BuildImageParams;
    const error = await refusal(builds.start(params));
    expect(error.field).toBe('dockerfile');
    expect(error.message).toContain('outside the build context');
    expect(error.hint).toMatch(/copy it there/);
    expect(`${error.message} ${error.hint}`).not.toContain(SECRET_LINE);
    expect(launches).toEqual([]);
    expect(commands).toEqual([]);
  });

  it('analyze_dockerfile refuses it with the same check', async () => {
    const error = await refusal(analyzeDockerfile({ context }));
    expect(error.field).toBe('dockerfile');
    expect(error.message).not.toContain(SECRET_LINE);
  });

  it('the worker does not read it either, and a requirement file linked outside is not read', async () => {
    const request = {
      contextDir: context,
      dockerfile: 'Dockerfile',
      imageRef: 'demo:latest',
      autoFix: true,
      fixBeforeBuild: true,
      buildArgs: {},
    } as unknown as BuildRequest;
    const error = await refusal(prepareSources(request, path.join(dir, 'work')));
    expect(error.field).toBe('dockerfile');

    await rm(path.join(context, 'Dockerfile'));
    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n',
    );
    await symlink(secret, path.join(context, 'requirements.txt'));
    const analysis = await analyzeDockerfile({ context });
    expect(JSON.stringify(analysis)).not.toContain('secret-hash');
    await mkdir(path.join(dir, 'work'));
    const { prepared } = await prepareSources(request, path.join(dir, 'work'));
    expect(JSON.stringify(prepared)).not.toContain('secret-hash');
  });
});
