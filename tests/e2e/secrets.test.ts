// Build secrets and secret-looking build args through the built MCP server, on each engine: a `RUN
// --mount=type=secret` step proves it read both secrets (their hashes go into the image and a smoke command checks
// them), and prints them and the build arg to its log. Afterwards none of the values may be anywhere a user or
// another local user could look: the docker argv (recorded by a wrapper around the real CLI), the tool reply, every
// file under the state directory (records, job files, event and build logs), and for the secrets also the image's
// history and every byte of `docker save`.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext, removeImagesFrom, tempDir } from '../support/build-fixtures.js';
import { TEST_BASE_IMAGE } from '../support/docker.js';
import { engines, ready, type Engine } from '../support/engines.js';
import { builtServer, startServer, type StartedServer } from '../support/mcp-client.js';

interface BuildReply {
  success: boolean;
  status: string;
  build_id: string;
  record: { warnings?: string[]; error?: { kind: string; summary: string }; smoke?: { passed: boolean } };
}

/** The CLI that drives BuildKit on the engine: the host's own 20.10 client (built-in BuildKit), or buildx's. */
function realDocker(engine: Engine): string {
  if (engine.name === 'host' && existsSync('/usr/bin/docker')) return '/usr/bin/docker';
  return execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
}

/** A docker that appends its whole argv to `log`, then runs the real CLI: what any local user sees with `ps`. */
function argvRecorder(log: string, docker: string): string {
  return `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${docker}' "$@"\n`;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

/** The files under `dir` whose bytes contain any of `values`. */
async function filesHolding(dir: string, values: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(file);
    if (values.some((value) => bytes.includes(value))) found.push(file);
  }
  return found;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(engines())('build secrets stay secret ($title)', (engine) => {
  if (!ready(engine)) return;
  const image = `dib-e2e-secrets-${engine.name}-${process.pid}`;
  // Random per run, so a match can only come from this run.
  const envSecret = `env-secret-${randomBytes(12).toString('hex')}`;
  const fileSecret = `file-secret-${randomBytes(12).toString('hex')}`;
  const buildArgValue = `hf_${randomBytes(12).toString('hex')}`;
  let server: StartedServer;
  let stateDir: string;
  let argvLog: string;
  let secretFile: string;
  let wrapper: string;
  let agent: ChildProcess | undefined;
  let agentSocket: string;

  beforeAll(async () => {
    // An SSH agent of this test's own (foreground, so it ends with the test), for the ssh forward.
    agentSocket = path.join(await tempDir('secrets-agent'), 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
    for (let i = 0; i < 50 && !existsSync(agentSocket); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const bin = await tempDir('secrets-bin');
    argvLog = path.join(bin, 'argv.log');
    wrapper = path.join(bin, 'docker');
    await writeFile(wrapper, argvRecorder(argvLog, realDocker(engine)));
    await chmod(wrapper, 0o755);
    secretFile = path.join(await tempDir('secrets-file'), 'pip.conf');
    await writeFile(secretFile, `${fileSecret}\n`, { mode: 0o600 });
    stateDir = await tempDir('secrets-state');
    server = await startServer({
      ...engine.env,
      DIB_STATE_DIR: stateDir,
      DIB_DOCKER: wrapper,
      DIB_E2E_HF_TOKEN: envSecret,
      SSH_AUTH_SOCK: agentSocket,
    });
  });
  afterAll(async () => {
    await server?.close();
    agent?.kill('SIGTERM');
    removeImagesFrom(engine.env, `${image}:latest`);
  });

  it('a RUN --mount=type=secret step reads both secrets, and no value is in argv, reply, state files, history or layers', async () => {
    const context = await makeContext({
      Dockerfile: [
        `FROM ${TEST_BASE_IMAGE}`,
        'ARG HF_TOKEN',
        // Prints the values (so the log would hold them if nothing redacted it) and keeps only their hashes.
        'RUN --mount=type=secret,id=hf,required=true --mount=type=secret,id=pip,required=true \\',
        '    cat /run/secrets/hf; echo; cat /run/secrets/pip; echo "arg=$HF_TOKEN"; \\',
        '    printf %s "$HF_TOKEN" | sha256sum | cut -d" " -f1 > /arg.sha; \\',
        '    sha256sum /run/secrets/hf /run/secrets/pip | cut -d" " -f1 > /secrets.sha',
        '',
      ].join('\n'),
    });
    const expectedHashes = `${sha256(envSecret)}\n${sha256(`${fileSecret}\n`)}`;
    const result = await server.client.callTool(
      {
        name: 'build_image',
        arguments: {
          context,
          image_name: image,
          force_local: true,
          no_cache: true,
          build_args: { HF_TOKEN: buildArgValue },
          secrets: [
            { id: 'hf', env: 'DIB_E2E_HF_TOKEN' },
            { id: 'pip', src: secretFile },
          ],
          smoke_commands: [
            `test "$(cat /secrets.sha)" = "${expectedHashes}"`,
            `test "$(cat /arg.sha)" = "${sha256(buildArgValue)}"`,
          ],
        },
      },
      undefined,
      { timeout: 600_000, resetTimeoutOnProgress: true },
    );
    const reply = JSON.stringify(result);
    const data = result.structuredContent as unknown as BuildReply;
    expect(result.isError, reply.slice(0, 3000)).toBeFalsy();
    // The image got the values: the smoke commands compared the hashes written by the build.
    expect(data).toMatchObject({ success: true, status: 'succeeded' });
    expect(data.record.smoke?.passed, JSON.stringify(data.record.smoke)).toBe(true);

    const all = [envSecret, fileSecret, buildArgValue];
    expect(all.filter((value) => reply.includes(value))).toEqual([]);
    expect(await filesHolding(stateDir, all)).toEqual([]);
    // The log still shows that the step printed something, with the values replaced.
    const logs = (await filesUnder(stateDir)).filter((file) => file.endsWith('.log') && file.includes('attempt'));
    expect((await Promise.all(logs.map((file) => readFile(file, 'utf8')))).join('\n')).toContain('arg=[redacted]');

    const argv = await readFile(argvLog, 'utf8');
    expect(all.filter((value) => argv.includes(value))).toEqual([]);
    expect(argv).toContain('--secret id=hf,env=DIB_E2E_HF_TOKEN');
    expect(argv).toContain(`--secret id=pip,src=${secretFile}`);
    expect(argv).toContain('--build-arg HF_TOKEN ');

    // The secrets are in no layer and no history entry. (A build arg used by RUN is in the history by docker's
    // design, which analyze_dockerfile warns about; the reply says so too.)
    const history = engine.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', `${image}:latest`]);
    expect(history.status, history.stderr).toBe(0);
    expect([envSecret, fileSecret].filter((value) => history.stdout.includes(value))).toEqual([]);
    const saved = spawnSync(process.env.DIB_DOCKER ?? 'docker', ['save', `${image}:latest`], {
      env: { ...process.env, ...engine.env },
      maxBuffer: 1024 * 1024 * 1024,
      timeout: 120_000,
    });
    expect(saved.status, saved.stderr?.toString()).toBe(0);
    // The layers are searchable as saved: the hashes the build wrote are found in them, the values are not.
    expect(saved.stdout.includes(sha256(envSecret))).toBe(true);
    expect([envSecret, fileSecret].filter((value) => saved.stdout.includes(value))).toEqual([]);
    expect(data.record.warnings?.join('\n')).toMatch(/HF_TOKEN.*secret/);
  });

  it('ssh "default" forwards the SSH agent of the server\'s environment into a RUN --mount=type=ssh step', async () => {
    const result = await server.client.callTool(
      {
        name: 'build_image',
        arguments: {
          context: await makeContext({
            Dockerfile: `FROM ${TEST_BASE_IMAGE}\nRUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo forwarded > /ssh.ok\n`,
          }),
          image_name: `${image}-ssh`,
          force_local: true,
          no_cache: true,
          ssh: ['default'],
          smoke_commands: ['test -f /ssh.ok'],
        },
      },
      undefined,
      { timeout: 600_000, resetTimeoutOnProgress: true },
    );
    removeImagesFrom(engine.env, `${image}-ssh:latest`);
    expect(result.isError, JSON.stringify(result).slice(0, 3000)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ success: true, status: 'succeeded' });
    expect(await readFile(argvLog, 'utf8')).toMatch(/ --ssh default /);
  });

  it('refuses an env secret whose variable is not set, naming the field, before anything builds', async () => {
    const result = await server.client.callTool({
      name: 'build_image',
      arguments: {
        context: await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\n` }),
        image_name: `${image}-unset`,
        force_local: true,
        secrets: [{ id: 'hf', env: 'DIB_E2E_NOT_SET' }],
      },
    });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/secrets\.0\.env.*DIB_E2E_NOT_SET is not set/);
  });

  it('the CLI refuses secrets with the legacy builder (DOCKER_BUILDKIT=0), saying BuildKit is needed', async () => {
    const run = spawnSync(
      process.execPath,
      [
        builtServer,
        'build',
        '--context',
        await makeContext({ Dockerfile: `FROM ${TEST_BASE_IMAGE}\n` }),
        '--image-name',
        `${image}-legacy`,
        '--force-local',
        '--secret',
        `id=pip,src=${secretFile}`,
      ],
      {
        env: { ...process.env, ...engine.env, DIB_STATE_DIR: stateDir, DIB_DOCKER: wrapper, DOCKER_BUILDKIT: '0' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(run.status, run.stderr).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toMatch(/secrets need BuildKit/);
    expect(`${run.stdout}${run.stderr}`).not.toContain(fileSecret);
  });
});
