import {
  addAptGetUpdateEdit,
  insertLineBeforeEdit,
  instructionAtLine,
  updatesBeforeInstall,
} from '../dockerfile-edits.js';
import { excerpt, findLine, type FailureScope } from '../failure-scope.js';
import type { Diagnosis } from '../types.js';

function lineOf(scope: FailureScope): { dockerfileLine?: number } {
  return scope.dockerfileLine === undefined ? {} : { dockerfileLine: scope.dockerfileLine };
}

/** The failing instruction's text: from the Dockerfile when possible (exact), else as the builder printed it. */
function failingInstructionText(scope: FailureScope): string | undefined {
  if (scope.dockerfileText !== undefined && scope.dockerfileLine !== undefined) {
    const located = instructionAtLine(scope.dockerfileText, scope.dockerfileLine);
    if (located) return located.text;
  }
  return scope.failedInstruction;
}

// apt writes its progress ("Reading package lists...") to stdout before the line ends; BuildKit merges a step's
// stdout and stderr, so the error can follow that text on the same line.
const APT_ERROR = String.raw`(?:^|\.\.\. ?)E: `;
const APT_MISSING = [
  new RegExp(`${APT_ERROR}Unable to locate package (\\S+)`),
  new RegExp(`${APT_ERROR}Package '([^']+)' has no installation candidate`),
  new RegExp(`${APT_ERROR}Version '[^']+' for '([^']+)' was not found`),
  new RegExp(`${APT_ERROR}Couldn't find any package by (?:glob|regex) '([^']+)'`),
];

export function aptUnableToLocate(scope: FailureScope): Diagnosis[] {
  const { lines } = scope;
  const packages: string[] = [];
  let first = -1;
  let last = -1;
  lines.forEach((line, index) => {
    for (const pattern of APT_MISSING) {
      const match = pattern.exec(line);
      if (!match) continue;
      if (!packages.includes(match[1]!)) packages.push(match[1]!);
      if (first < 0) first = index;
      last = index;
    }
  });
  if (packages.length === 0) return [];
  const instruction = failingInstructionText(scope);
  const updated = instruction !== undefined && updatesBeforeInstall(instruction);
  const names = packages.join(', ');
  const pythons = packages.filter((name) => /^(?:lib)?python3\.\d+(?:-\w+)?$/.test(name));
  if (pythons.length > 0 && (updated || instruction === undefined)) {
    const version = /python(3\.\d+)/.exec(pythons[0]!)![1]!;
    return [
      {
        kind: 'apt-python-version-unavailable',
        summary: `Python ${version} (${pythons.join(', ')}) is not packaged for the base image's distribution release.`,
        ...lineOf(scope),
        excerpt: excerpt(lines, first, last),
        fixable: false,
        fix: { action: 'check-apt-packages', packages: pythons },
        nextStep: `Use the release's own python3 (check its version), add the deadsnakes PPA on Ubuntu (software-properties-common, add-apt-repository ppa:deadsnakes/ppa) for python${version}, or start from python:${version}-slim / a base image that ships Python ${version}; then rebuild.`,
      },
    ];
  }
  if (updated || instruction === undefined) {
    return [
      {
        kind: 'apt-unable-to-locate',
        summary: `apt cannot find package ${names} in the base image's repositories.`,
        ...lineOf(scope),
        excerpt: excerpt(lines, first, last),
        fixable: false,
        fix: { action: 'check-apt-packages', packages },
        nextStep: updated
          ? `The package lists were updated, so the name is wrong for this distribution release (check spelling and \`apt-cache search\` on the base image), or it needs an extra repository (e.g. universe, NVIDIA's CUDA repo); fix it and rebuild.`
          : `Make sure the same RUN runs \`apt-get update\` before \`apt-get install\`, and that ${names} exists for the base image's distribution release.`,
      },
    ];
  }
  const edit =
    scope.dockerfileText !== undefined && scope.dockerfileLine !== undefined
      ? addAptGetUpdateEdit(scope.dockerfileText, scope.dockerfileLine, scope.dockerfilePath)
      : undefined;
  return [
    {
      kind: 'apt-unable-to-locate',
      summary: `apt cannot find ${names} because this RUN installs without running \`apt-get update\` first (base images ship without package lists).`,
      ...lineOf(scope),
      excerpt: excerpt(lines, first, last),
      fixable: scope.dockerfileLine !== undefined,
      ...(scope.dockerfileLine === undefined
        ? {}
        : {
            fix: {
              action: 'add-apt-get-update' as const,
              dockerfileLine: scope.dockerfileLine,
              ...(edit ? { edit } : {}),
            },
          }),
      nextStep: 'Prefix the install with `apt-get update &&` in the same RUN instruction, then rebuild.',
    },
  ];
}

const KILLED =
  /^(?:Killed|.*died due to signal 9.*|.*\bcc1plus: out of memory\b.*|.*\bKilled signal terminated program\b.*|.*\bsignal: killed\b.*|MemoryError.*|.*Cannot allocate memory.*|.*std::bad_alloc.*)$/;
const COMPILING =
  /\b(?:cc1plus|nvcc|ninja|g\+\+|c\+\+|gcc|cmake|Building wheel for|bdist_wheel|setup\.py (?:build|install)|MAX_JOBS)\b/;

export function outOfMemory(scope: FailureScope): Diagnosis[] {
  const { lines } = scope;
  const killedAt = findLine(lines, KILLED);
  const exit137 = scope.exitCode === 137 || lines.some((line) => /(?:exit code|non-zero code): 137\b/.test(line));
  if (killedAt < 0 && !exit137) return [];
  const compiling = COMPILING.test(scope.failedInstruction ?? '') || lines.some((line) => COMPILING.test(line));
  const edit =
    compiling && scope.dockerfileText !== undefined && scope.dockerfileLine !== undefined
      ? insertLineBeforeEdit(scope.dockerfileText, scope.dockerfileLine, 'ENV MAX_JOBS=2', scope.dockerfilePath)
      : undefined;
  const shownAt = killedAt >= 0 ? killedAt : findLine(lines, /137/);
  return [
    {
      kind: 'out-of-memory',
      summary: `The step was killed (exit code 137${killedAt >= 0 ? ', "Killed"' : ''}), almost always because the build ran out of memory${compiling ? ' while compiling' : ''}.`,
      ...lineOf(scope),
      excerpt: excerpt(lines, Math.max(0, shownAt - 2), shownAt),
      fixable: edit !== undefined,
      fix: compiling
        ? { action: 'reduce-build-parallelism', env: { MAX_JOBS: '2' }, ...(edit ? { edit } : {}) }
        : { action: 'increase-build-memory' },
      nextStep: compiling
        ? 'Limit parallel compile jobs (ENV MAX_JOBS=2 before this step; ninja and torch extensions honour it) or give Docker more memory, then rebuild.'
        : "Give Docker more memory (Docker Desktop settings, or a larger machine/CodeBuild compute type), or reduce what this step loads at once (e.g. pip's --no-cache-dir), then rebuild.",
    },
  ];
}

export function noSpaceLeft(scope: FailureScope): Diagnosis[] {
  const index = findLine(scope.lines, /no space left on device|\[Errno 28\]|\bENOSPC\b/i);
  if (index < 0) return [];
  const pipWithoutNoCache = /\bpip3? install\b(?!.*--no-cache-dir)/.test(scope.failedInstruction ?? '');
  return [
    {
      kind: 'no-space-left',
      summary: 'The build ran out of disk space (No space left on device).',
      ...lineOf(scope),
      excerpt: excerpt(scope.lines, index),
      fixable: false,
      fix: { action: 'free-disk-space', commands: ['docker builder prune', 'docker image prune'] },
      nextStep: `Free space for Docker (ask before running \`docker builder prune\` / \`docker image prune\`, which delete cache and unused images)${
        pipWithoutNoCache ? ', add --no-cache-dir to pip install (a torch wheel is kept twice otherwise)' : ''
      }, then rebuild.`,
    },
  ];
}

const NETWORK_PATTERNS: RegExp[] = [
  /Temporary failure in name resolution/,
  /Temporary failure resolving '([^']+)'/,
  /Could not resolve host: (\S+)/,
  /Could not resolve '([^']+)'/,
  /Name or service not known/,
  /NewConnectionError|Failed to establish a new connection/,
  /ConnectTimeoutError|ReadTimeoutError|Read timed out|Connection timed out|timed out after/,
  /Network is unreachable/,
  /Connection reset by peer/,
  /Could not connect to (\S+)/,
  /TLS handshake timeout|i\/o timeout/,
  /dial tcp: lookup (\S+)/,
];

/** The hosts named by network errors (`host='pypi.org'`, `Could not resolve 'deb.debian.org'`). */
function hostsIn(lines: readonly string[]): string[] {
  const hosts = new Set<string>();
  for (const line of lines) {
    for (const pattern of [
      /host='([^']+)'/,
      /Could not resolve host: ([^\s;]+)/,
      /(?:Could not resolve|Temporary failure resolving) '([^']+)'/,
      /dial tcp: lookup (\S+?)(?: on |:|$)/,
      /Could not connect to ([^\s:]+)/,
      /Failed to fetch (?:https?:\/\/)([^/\s]+)/,
    ]) {
      const match = pattern.exec(line);
      if (match) hosts.add(match[1]!);
    }
  }
  return [...hosts];
}

export function networkFailure(scope: FailureScope): Diagnosis[] {
  // Registry calls (`https://host/v2/...`) are a base image problem, reported by baseImageNotFound.
  const lines = scope.lines.filter((line) => !/https:\/\/[^/\s"]+\/v2\//.test(line));
  const matching = lines.map((line, index) => (NETWORK_PATTERNS.some((pattern) => pattern.test(line)) ? index : -1));
  const indexes = matching.filter((index) => index >= 0);
  if (indexes.length === 0) return [];
  const hosts = hostsIn(indexes.map((index) => lines[index]!));
  // pip's retry warnings name only the path (`/simple/torch/`); without --index-url that is PyPI.
  if (hosts.length === 0 && pipNetworkFailure(scope)) {
    const indexUrls = lines.flatMap((line) => /Looking in indexes: (.+)$/.exec(line)?.[1]?.split(',') ?? []);
    const indexHosts = indexUrls.map((url) => /\/\/([^/:]+)/.exec(url)?.[1]).filter((host) => host !== undefined);
    hosts.push(...(indexHosts.length > 0 ? indexHosts : ['pypi.org']));
  }
  const hostText = hosts.length > 0 ? ` (${hosts.join(', ')})` : '';
  return [
    {
      kind: 'network',
      summary: `The build could not reach the network${hostText}: name resolution or connection failed.`,
      ...lineOf(scope),
      excerpt: excerpt(lines, indexes[0]!, indexes[indexes.length - 1]!),
      fixable: false,
      fix: { action: 'retry', hosts },
      nextStep:
        'Check that this machine (and Docker builds) can reach these hosts: DNS, proxy settings (pass HTTP_PROXY/HTTPS_PROXY as build args), firewall. Retry once if it was transient; no Dockerfile change will fix it.',
    },
  ];
}

/** pip said it saw no versions, right after connection errors: the index was unreachable, not empty. */
export function pipNetworkFailure(scope: FailureScope): boolean {
  return scope.lines.some((line) =>
    /Retrying \(Retry\(|NewConnectionError|HTTPSConnectionPool|ConnectTimeoutError/.test(line),
  );
}

/** apt's lists could not be downloaded, so its later "Unable to locate package" is a consequence. */
export function aptFetchFailed(scope: FailureScope): boolean {
  return scope.lines.some((line) => /^(?:W|E): Failed to fetch |^Err:\d+ /.test(line));
}
