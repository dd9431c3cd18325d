import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './mcp-client.js';
import { writeWheelhouse } from './wheels.js';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `dib-${prefix}-`));
}

/** A build context with the given files (path -> text). */
export async function makeContext(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('ctx');
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  return dir;
}

/** The seed's conflict in a real pip install: wheels served from a local folder, torch 2.7.1 with torchvision 0.15.0. */
export async function makePipConflictContext(baseImage: string): Promise<string> {
  const dir = await makeContext({
    Dockerfile: [
      `FROM ${baseImage}`,
      'COPY wheels /wheels',
      '# torchvision 0.15.0 was built for torch 2.0.0: pip cannot install both.',
      'RUN pip install --break-system-packages --no-index --find-links /wheels \\',
      '    torch==2.7.1 torchvision==0.15.0',
      'CMD ["python3", "-c", "import torch, torchvision; print(torch.__version__, torchvision.__version__)"]',
      '',
    ].join('\n'),
  });
  await writeWheelhouse(path.join(dir, 'wheels'));
  return dir;
}

/** A copy of the bundled FSDP example. */
export async function copyFsdpExample(): Promise<string> {
  const dir = await tempDir('fsdp');
  await cp(path.join(repoRoot, 'examples', 'fsdp'), dir, { recursive: true });
  return dir;
}

/** Variables that point the docker CLI at an engine (`engine.env`); empty for the host engine. */
export type EngineEnv = Record<string, string>;

function docker(args: string[], env: EngineEnv, timeout: number): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout, env: { ...process.env, ...env } });
}

export function removeImages(...refs: string[]): void {
  removeImagesFrom({}, ...refs);
}

/** Removes images from the engine `env` points at. */
export function removeImagesFrom(env: EngineEnv, ...refs: string[]): void {
  for (const ref of refs) {
    try {
      execFileSync('docker', ['image', 'rm', '-f', ref], {
        stdio: 'ignore',
        timeout: 60_000,
        env: { ...process.env, ...env },
      });
    } catch {
      // already gone
    }
  }
}

export function imageExists(ref: string, env: EngineEnv = {}): boolean {
  try {
    docker(['image', 'inspect', ref], env, 30_000);
    return true;
  } catch {
    return false;
  }
}

/**
 * Processes whose command line is a docker build: `docker build`, `docker buildx build`, or the buildx plugin the
 * CLI runs for the latter (`docker-buildx buildx build`), which must not outlive its parent either.
 */
export function dockerBuildProcesses(): string[] {
  const output = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  // The command itself, not the word "build" anywhere in a long argument list.
  return output
    .split('\n')
    .filter((line) => /^\s*\d+\s+(?:sudo\s+(?:-\S+\s+)*)?\S*docker(?:-buildx)?\s+(?:buildx\s+)?build\s/.test(line));
}

export function containersWithLabel(label: string, env: EngineEnv = {}): string[] {
  return docker(['ps', '-aq', '--filter', `label=${label}`], env, 30_000)
    .split('\n')
    .filter(Boolean);
}

/** `docker build` processes of one image (its `-t NAME:TAG`), so a test looks only at the builds it started. */
export function dockerBuildProcessesFor(imageRef: string): string[] {
  return dockerBuildProcesses().filter((line) => line.includes(imageRef));
}

/** Containers of one image, running or stopped (a legacy builder's step container is one). */
export function containersOfImage(imageRef: string, env: EngineEnv = {}): string[] {
  return docker(['ps', '-aq', '--filter', `ancestor=${imageRef}`], env, 30_000)
    .split('\n')
    .filter(Boolean);
}
