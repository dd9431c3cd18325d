// Pushing a built image to the registry named in its reference: `docker push`, the digest it printed, and a failed
// push put into words with the next step (log in, reach the registry, get permission, create the repository).
import { copyFile, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DockerClient } from './client.js';
import { PUSH_FAILURE_RULES, type PushFailure } from './push-failures.js';

export type { PushFailure } from './push-failures.js';

/** The registry host of an image reference (`host[:port]`), or undefined for a bare name (Docker Hub implied). */
export function registryHostOf(imageRef: string): string | undefined {
  const slash = imageRef.indexOf('/');
  if (slash < 0) return undefined;
  const first = imageRef.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** The region of an ECR registry host (`<account>.dkr.ecr.<region>.amazonaws.com`), else undefined. */
export function ecrRegionOf(host: string): string | undefined {
  return ECR_HOST.exec(host)?.[2];
}

export interface PushResult {
  ref: string;
  pushed: boolean;
  /** The manifest digest the registry stored (`sha256:...`). */
  digest?: string;
  /** The push output's last lines (bounded). */
  output: string;
  failure?: PushFailure;
}

export interface PushOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** DOCKER_CONFIG for this push only (a private copy holding a login); default the invocation's. */
  dockerConfig?: string;
}

function lastLines(text: string, count = 20): string {
  return text.trim().split('\n').slice(-count).join('\n').slice(-2000);
}

/** The digest `docker push` printed (`TAG: digest: sha256:... size: N`). */
export function digestFromPushOutput(output: string): string | undefined {
  return /digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1];
}

/** Why a push failed, for its output; the generic case when no rule knows the text. */
export function classifyPushFailure(output: string, host: string): PushFailure {
  for (const rule of PUSH_FAILURE_RULES) {
    const failure = rule(output, host);
    if (failure) return failure;
  }
  return {
    reason: 'failed',
    summary: `The push to ${host} failed: ${lastLines(output, 1) || 'docker push printed nothing'}.`,
    nextStep: `Read the push output; fix what it names, then push the local image again with \`docker push\`.`,
  };
}

/** Runs `docker push REF` and reads its digest; never throws for a refused or failed push. */
export async function pushImage(docker: DockerClient, ref: string, options: PushOptions): Promise<PushResult> {
  const host = registryHostOf(ref) ?? 'docker.io';
  const result = await docker.run(['push', ref], {
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.dockerConfig ? { extraEnv: { DOCKER_CONFIG: options.dockerConfig } } : {}),
  });
  const output = `${result.stdout}\n${result.stderr}`;
  if (result.exitCode === 0) {
    const digest = digestFromPushOutput(output) ?? (await repoDigest(docker, ref));
    return { ref, pushed: true, ...(digest ? { digest } : {}), output: lastLines(output) };
  }
  const failure: PushFailure = result.timedOut
    ? {
        reason: 'unreachable',
        summary: `The push to ${host} did not finish within ${Math.round(options.timeoutMs / 1000)} s.`,
        nextStep: `Check that ${host} answers from the Docker engine, then push again.`,
      }
    : classifyPushFailure(output, host);
  return { ref, pushed: false, output: lastLines(output), failure };
}

/** The digest of the pushed reference from the image's RepoDigests (`name@sha256:...`), when docker lists it. */
async function repoDigest(docker: DockerClient, ref: string): Promise<string | undefined> {
  const result = await docker.run(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref], {
    timeoutMs: 15_000,
  });
  if (result.exitCode !== 0) return undefined;
  const name = ref.replace(/:[\w][\w.-]{0,127}$/, '');
  const digests = JSON.parse(result.stdout || '[]') as string[] | null;
  return digests?.find((entry) => entry.startsWith(`${name}@`))?.split('@')[1];
}

/**
 * A private DOCKER_CONFIG for one push: the user's config.json without its credential store (so a login lands in
 * this copy, never in the user's keychain or file), and links to its contexts and CLI plugins.
 */
export async function privateDockerConfig(sourceDir: string | undefined, targetDir: string): Promise<string> {
  const source = sourceDir ?? path.join(os.homedir(), '.docker');
  await rm(targetDir, { recursive: true, force: true });
  await mkdir(targetDir, { recursive: true, mode: 0o700 });
  const config = await readFile(path.join(source, 'config.json'), 'utf8')
    .then((text) => JSON.parse(text) as Record<string, unknown>)
    .catch(() => ({}) as Record<string, unknown>);
  delete config['credsStore'];
  delete config['credHelpers'];
  await writeFile(path.join(targetDir, 'config.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
  for (const entry of await readdir(source).catch(() => [] as string[])) {
    if (entry === 'config.json') continue;
    if (entry === 'cli-plugins' || entry === 'contexts' || entry === 'buildx') {
      await symlink(path.join(source, entry), path.join(targetDir, entry)).catch(() => undefined);
    } else if (entry.endsWith('.pem')) {
      await copyFile(path.join(source, entry), path.join(targetDir, entry)).catch(() => undefined);
    }
  }
  return targetDir;
}

/** `docker login --username U --password-stdin HOST` into `dockerConfig`; the password goes through stdin only. */
export async function dockerLogin(
  docker: DockerClient,
  login: { host: string; username: string; password: string; dockerConfig: string; signal?: AbortSignal },
): Promise<{ ok: boolean; output: string }> {
  const result = await docker.run(['login', '--username', login.username, '--password-stdin', login.host], {
    timeoutMs: 60_000,
    input: login.password,
    extraEnv: { DOCKER_CONFIG: login.dockerConfig },
    ...(login.signal ? { signal: login.signal } : {}),
  });
  return { ok: result.exitCode === 0, output: lastLines(`${result.stdout}\n${result.stderr}`, 5) };
}
