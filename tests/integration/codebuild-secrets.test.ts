/**
 * A CodeBuild build with a Secrets Manager secret and a secret-looking build arg, against the local AWS emulator
 * (through the real SDK). The emulated build really runs the generated buildspec with the engine's own 20.10 CLI
 * (BuildKit built in), so the RUN --mount=type=secret step proves the value arrived; the StartBuild request carries
 * only the secret's name (type SECRETS_MANAGER) and the build arg as a variable, never either value in the buildspec.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptInput, BuildRequest } from '../../src/build-model/attempt.js';
import { createAwsClients } from '../../src/codebuild/clients.js';
import { CodeBuildRunner } from '../../src/codebuild/codebuild-runner.js';
import { startAwsEmulator, type AwsEmulatorHandle } from '../support/aws-emulator/index.js';
import { TEST_BASE_IMAGE, dockerAvailable, dockerRequired, skipWithoutDocker } from '../support/docker.js';

const REGION = 'us-west-2';
const PROJECT = 'dib-secrets';
const SECRET_VALUE = `sm-secret-${randomBytes(12).toString('hex')}`;
const ARG_VALUE = `hf_${randomBytes(12).toString('hex')}`;
const IMAGE = `dib-cb-secrets-${randomBytes(3).toString('hex')}:latest`;
// BuildKit needs a CLI that has it: the engine's own 20.10 client, when present.
const BUILDKIT_CLI_DIR = existsSync('/usr/bin/docker') ? '/usr/bin' : undefined;

let aws: AwsEmulatorHandle;
let work: string;
let runner: CodeBuildRunner;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  if (dockerRequired && !dockerAvailable) throw new Error('DIB_REQUIRE_DOCKER=1 but no Docker daemon answers');
  aws = await startAwsEmulator({
    projects: [{ name: PROJECT, environment: { privilegedMode: true } }],
    timing: { queuedMs: 20, provisioningMs: 20 },
    storedSecrets: { secretsManager: { 'hf-token': SECRET_VALUE } },
    commandEnv: BUILDKIT_CLI_DIR ? { PATH: `${BUILDKIT_CLI_DIR}:${process.env.PATH ?? ''}` } : {},
  });
  for (const [key, value] of Object.entries(aws.env)) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
  runner = new CodeBuildRunner({
    clients: (region) => createAwsClients({ region }),
    poll: { initialMs: 200, maxMs: 1_000, finalLogPollMs: 100 },
  });
  work = await mkdtemp(path.join(tmpdir(), 'dib-cb-secrets-'));
});

afterAll(async () => {
  runner?.destroy();
  await aws?.stop();
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (work) await rm(work, { recursive: true, force: true });
  if (dockerAvailable) execFileSync('docker', ['image', 'rm', '-f', IMAGE], { stdio: 'ignore' });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.skipIf(skipWithoutDocker || !BUILDKIT_CLI_DIR)('CodeBuild secrets (emulator, real docker)', () => {
  it('a Secrets Manager secret reaches RUN --mount=type=secret by reference; no value is in the buildspec', async () => {
    const dir = path.join(work, 'ctx');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'Dockerfile'),
      `FROM ${TEST_BASE_IMAGE}\nARG HF_TOKEN\nRUN --mount=type=secret,id=hf,required=true cat /run/secrets/hf; echo "arg=$HF_TOKEN"; sha256sum /run/secrets/hf | cut -d" " -f1 > /hf.sha; printf %s "$HF_TOKEN" | sha256sum | cut -d" " -f1 > /arg.sha\n`,
    );
    const request: BuildRequest = {
      contextDir: dir,
      dockerfile: 'Dockerfile',
      imageRef: IMAGE,
      autoFix: false,
      fixBeforeBuild: false,
      smokeTest: true,
      smokeCommands: [
        `test "$(cat /hf.sha)" = ${sha256(SECRET_VALUE)}`,
        `test "$(cat /arg.sha)" = ${sha256(ARG_VALUE)}`,
      ],
      maxAttempts: 1,
      useSudo: false,
      buildArgs: { HF_TOKEN: ARG_VALUE },
      noCache: true,
      pull: false,
      labels: {},
      writeFixes: false,
      timeoutSeconds: 600,
      secrets: [{ id: 'hf', aws_secret: 'hf-token' }],
    };
    const input: AttemptInput = {
      attempt: 1,
      contextDir: dir,
      dockerfilePath: path.join(dir, 'Dockerfile'),
      logFile: path.join(work, 'attempt.log'),
      signal: new AbortController().signal,
      onEvent: () => undefined,
    };
    const outcome = await runner.runAttempt(request, input, { project: PROJECT, region: REGION });
    const log = await readFile(input.logFile, 'utf8');
    expect(outcome.errorMessage, log.slice(-3000)).toBeUndefined();
    // The smoke commands compared the hashes the build wrote: both values arrived.
    expect(outcome).toMatchObject({ success: true, codebuildStatus: 'SUCCEEDED' });
    expect(outcome.smoke?.passed).toBe(true);

    const started = aws.state.builds.get(outcome.codebuildBuildId ?? '')!;
    expect(started.environmentVariables).toEqual(
      expect.arrayContaining([
        { name: 'DIB_SECRET_0', value: 'hf-token', type: 'SECRETS_MANAGER' },
        { name: 'HF_TOKEN', value: ARG_VALUE, type: 'PLAINTEXT' },
      ]),
    );
    expect(started.buildspecText).toContain('--secret id=hf,env=DIB_SECRET_0');
    expect(started.buildspecText).toContain('--build-arg HF_TOKEN ');
    expect(started.buildspecText).not.toContain(ARG_VALUE);
    expect(started.buildspecText).not.toContain(SECRET_VALUE);
    // CodeBuild masks a SECRETS_MANAGER value in its log; the step printed it, and the log shows the mask.
    expect(log).not.toContain(SECRET_VALUE);
    expect(log).toContain('***');
    // The build arg is a plain build variable: the tool masks its value in what it keeps of the log.
    expect(log).not.toContain(ARG_VALUE);
    expect(log).toContain('arg=[redacted]');
  });
});
