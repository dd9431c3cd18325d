import { DockerfileParser } from 'dockerfile-ast';
import { normalizeImageName } from '../../docker/dockerfile-steps.js';
import { replaceKeywordEdit } from '../dockerfile-edits.js';
import { excerpt, findLine, type FailureScope } from '../failure-scope.js';
import type { Diagnosis } from '../types.js';

function lineOf(line: number | undefined): { dockerfileLine?: number } {
  return line === undefined ? {} : { dockerfileLine: line };
}

/** A Docker registry API call (`https://host/v2/...`) that never got an answer. */
const REGISTRY_UNREACHABLE =
  /https:\/\/([^/\s"]+)\/v2\/[^\s"]*"?:? .*(?:dial tcp|no such host|i\/o timeout|connection refused|TLS handshake timeout|network is unreachable)/i;

interface ImageFailure {
  image?: string;
  reason: 'not-found' | 'access-denied' | 'registry-unreachable';
  index: number;
  registry?: string;
}

function findImageFailure(lines: readonly string[], scope: FailureScope): ImageFailure | undefined {
  const fromStep = scope.failedInstruction?.match(/^FROM\s+(?:--\S+\s+)*(\S+)/i)?.[1];
  const stepImage = scope.metadataImage ?? fromStep;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    let match = /pull access denied for ([^,\s]+), repository does not exist or may require 'docker login'/.exec(line);
    if (match) return { image: match[1]!, reason: 'not-found', index };
    match = /manifest for (\S+) not found/.exec(line);
    if (match) return { image: match[1]!, reason: 'not-found', index };
    match = /failed to resolve source metadata for (\S+?):/.exec(line);
    if (match) {
      const reason = /not found|manifest unknown/.test(line)
        ? 'not-found'
        : /denied|unauthorized|insufficient_scope|authorization/i.test(line)
          ? 'access-denied'
          : 'registry-unreachable';
      return { image: match[1]!, reason, index };
    }
    match = /failed to solve: (\S+?): (?:\S+: )?not found\s*$/.exec(line);
    if (match && /[:/]/.test(match[1]!) && !/^(?:process|executor|failed)/.test(match[1]!))
      return { image: match[1]!, reason: 'not-found', index };
    if (
      /pull access denied|insufficient_scope: authorization failed|unauthorized: authentication required/.test(line)
    ) {
      return { ...(stepImage ? { image: stepImage } : {}), reason: 'access-denied', index };
    }
    const unreachable = REGISTRY_UNREACHABLE.exec(line);
    if (unreachable && (stepImage !== undefined || /registry-1\.docker\.io/.test(line))) {
      return {
        ...(stepImage ? { image: stepImage } : {}),
        reason: 'registry-unreachable',
        registry: unreachable[1]!,
        index,
      };
    }
    if (
      stepImage !== undefined &&
      /(?::|^ERROR:?) (?:\S+: )?not found\s*$|manifest unknown/.test(line) &&
      !/cache key|checksum/.test(line)
    ) {
      return { image: stepImage, reason: 'not-found', index };
    }
  }
  return undefined;
}

/** The FROM line whose image is `image` (as written, or as BuildKit normalises it). */
function fromLineFor(
  dockerfileText: string | undefined,
  image: string | undefined,
): { line: number; image: string } | undefined {
  if (dockerfileText === undefined || image === undefined) return undefined;
  const wanted = normalizeImageName(image).replace(/@sha256:[0-9a-f]+$/, '');
  for (const from of DockerfileParser.parse(dockerfileText).getFROMs()) {
    const written = from.getImage();
    if (written && normalizeImageName(written) === wanted)
      return { line: from.getRange().start.line + 1, image: written };
  }
  return undefined;
}

const KNOWN_TAG_SCHEMES = /^(?:docker\.io\/)?(?:pytorch\/pytorch|nvidia\/cuda)(?::|$)/;

export function baseImageNotFound(scope: FailureScope): Diagnosis[] {
  const failure = findImageFailure(scope.lines, scope);
  if (!failure) return [];
  const located = fromLineFor(scope.dockerfileText, failure.image);
  const image = located?.image ?? failure.image ?? 'the base image';
  const dockerfileLine = located?.line ?? scope.dockerfileLine;
  let summary: string;
  let nextStep: string;
  if (failure.reason === 'registry-unreachable') {
    summary =
      `Base image ${image} is not in the local image store and the registry ${failure.registry ?? ''} cannot be reached.`.replace(
        '  ',
        ' ',
      );
    nextStep = `Check the name against \`docker images\` if the image is meant to be local; otherwise restore access to the registry (DNS, proxy, firewall) and rebuild.`;
  } else if (failure.reason === 'access-denied') {
    summary = `Docker was refused access to base image ${image}: the repository does not exist or needs \`docker login\`.`;
    nextStep = `Check the image name for typos; if it is private, run \`docker login\` for its registry; then rebuild.`;
  } else if (
    /^(?:docker\.io\/)?nvidia\/cuda(?::(?:latest|\d+\.\d+-)|$)/.test(image) ||
    /nvidia\/cuda:(?:latest|\d+\.\d+-)/.test(image)
  ) {
    summary = `Base image ${image} is gone: NVIDIA removed nvidia/cuda tags without a patch version (and the latest tag), and deletes end-of-life CUDA tags.`;
    nextStep = `Use a full tag such as nvidia/cuda:<major.minor.patch>-<flavour>-<os> (e.g. 11.0-base -> 11.0.3-base-ubuntu20.04) that is still listed as supported, and rebuild.`;
  } else {
    summary = `Base image ${image} does not exist in its registry (no such repository or tag).`;
    nextStep = `Replace it with a published tag (for pytorch/pytorch and nvidia/cuda, pick one from the compatibility data) and rebuild.`;
  }
  const normalized =
    failure.image === undefined ? '' : normalizeImageName(failure.image).replace(/^docker\.io\/library\//, '');
  return [
    {
      kind: 'base-image-not-found',
      summary,
      ...lineOf(dockerfileLine),
      excerpt: excerpt(scope.lines, failure.index),
      fixable: failure.reason === 'not-found' && KNOWN_TAG_SCHEMES.test(normalized),
      fix: { action: 'change-base-image', image, reason: failure.reason },
      nextStep,
    },
  ];
}

export function copyMissingFile(scope: FailureScope): Diagnosis[] {
  const { lines } = scope;
  const patterns: [RegExp, (match: RegExpExecArray) => string][] = [
    [
      /(?:COPY|ADD) failed: file not found in build context or excluded by \.dockerignore: stat (.+?): file does not exist/,
      (m) => m[1]!,
    ],
    [
      /(?:COPY|ADD) failed: stat \/var\/lib\/docker\/tmp\/docker-builder\d+\/(.+?): no such file or directory/,
      (m) => m[1]!,
    ],
    [/(?:COPY|ADD) failed: no source files were specified/, () => ''],
    [/failed to calculate checksum of ref \S+: "([^"]+)": not found/, (m) => m[1]!.replace(/^\//, '')],
    [/failed to compute cache key: "([^"]+)" not found: not found/, (m) => m[1]!.replace(/^\//, '')],
  ];
  for (let index = 0; index < lines.length; index++) {
    for (const [pattern, pathOf] of patterns) {
      const match = pattern.exec(lines[index]!);
      if (!match) continue;
      const path = pathOf(match);
      const fromStage = scope.failedInstruction?.match(/--from=(\S+)/)?.[1];
      const where = fromStage ? `stage/image "${fromStage}"` : 'the build context';
      return [
        {
          kind: 'copy-missing-file',
          summary: path
            ? `COPY source "${path}" does not exist in ${where}${fromStage ? '' : ' (or .dockerignore excludes it)'}.`
            : 'A COPY/ADD source pattern matched no files in the build context.',
          ...lineOf(scope.dockerfileLine),
          excerpt: excerpt(lines, index),
          fixable: false,
          fix: { action: 'fix-copy-source', path, ...(fromStage ? { fromStage } : {}) },
          nextStep: fromStage
            ? `Make stage "${fromStage}" produce ${path || 'the file'}, or correct the path in the COPY --from instruction, then rebuild.`
            : `COPY paths are relative to the build context directory, not to the Dockerfile: check that ${path || 'the file'} exists there and is not excluded by .dockerignore, or fix the path, then rebuild.`,
        },
      ];
    }
  }
  return [];
}

const KEYWORDS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER',
  'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]; // prettier-ignore

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

/** A keyword the unknown one is one or two typos away from (`RUNN`, `FORM`); none for short or distant words. */
export function closestKeyword(word: string): string | undefined {
  const upper = word.toUpperCase();
  const limit = upper.length >= 4 ? 2 : 1;
  const ranked = KEYWORDS.map((keyword) => ({ keyword, distance: editDistance(upper, keyword) }))
    .filter((candidate) => candidate.distance <= limit)
    .sort((a, b) => a.distance - b.distance);
  if (ranked.length === 0 || (ranked.length > 1 && ranked[0]!.distance === ranked[1]!.distance)) return undefined;
  return ranked[0]!.keyword;
}

export function dockerfileSyntax(scope: FailureScope): Diagnosis[] {
  const index = findLine(scope.lines, /dockerfile parse error (?:on )?line \d+/i);
  if (index < 0) return [];
  const line = scope.lines[index]!;
  const match = /dockerfile parse error (?:on )?line (\d+): (.+)$/i.exec(line);
  const dockerfileLine = match ? Number(match[1]) : scope.dockerfileLine;
  const message = match?.[2]?.trim() ?? line;
  const unknown = /unknown instruction: (\S+)/i.exec(message)?.[1];
  const suggestedKeyword = unknown === undefined ? undefined : closestKeyword(unknown);
  const edit =
    suggestedKeyword !== undefined && scope.dockerfileText !== undefined && dockerfileLine !== undefined
      ? replaceKeywordEdit(scope.dockerfileText, dockerfileLine, suggestedKeyword, scope.dockerfilePath)
      : undefined;
  const at = dockerfileLine === undefined ? '' : ` on line ${dockerfileLine}`;
  return [
    {
      kind: 'dockerfile-syntax',
      summary: `The Dockerfile does not parse${at}: ${message}.`,
      ...lineOf(dockerfileLine),
      excerpt: excerpt(scope.lines, index),
      fixable: edit !== undefined,
      fix: {
        action: 'fix-dockerfile-syntax',
        message,
        ...(unknown === undefined ? {} : { instruction: unknown }),
        ...(suggestedKeyword === undefined ? {} : { suggestedKeyword }),
        ...(edit ? { edit } : {}),
      },
      nextStep: suggestedKeyword
        ? `Replace ${unknown} with ${suggestedKeyword}${at}, then rebuild.`
        : `Fix the instruction${at} (a missing line continuation \`\\\` often makes the next line look like an unknown instruction), then rebuild.`,
    },
  ];
}

/** Problems reaching Docker itself: nothing was built. These lines are outside any step. */
export function dockerAccess(scope: FailureScope): Diagnosis[] {
  const lines = scope.allLines;
  const sudoPassword = findLine(lines, /^sudo: (?:a password is required|a terminal is required)/);
  if (sudoPassword >= 0) {
    return [
      {
        kind: 'docker-permission-denied',
        summary: 'sudo needs a password to run docker, and the build cannot type one.',
        excerpt: excerpt(lines, sudoPassword),
        fixable: false,
        fix: { action: 'fix-docker-access', suggestion: 'configure-passwordless-sudo' },
        nextStep:
          'Ask the user to add their account to the docker group (then log in again) so sudo is not needed, or to allow passwordless sudo for docker.',
      },
    ];
  }
  const denied = findLine(
    lines,
    /permission denied while trying to connect to the Docker daemon socket|docker\.sock: connect: permission denied/,
  );
  if (denied >= 0) {
    return [
      {
        kind: 'docker-permission-denied',
        summary: 'This user may not use the Docker daemon socket (permission denied).',
        excerpt: excerpt(lines, denied),
        fixable: false,
        fix: { action: 'fix-docker-access', suggestion: 'use-sudo' },
        nextStep:
          'Retry with useSudo if passwordless sudo is available; otherwise ask the user to add their account to the docker group (`sudo usermod -aG docker $USER`, then log in again).',
      },
    ];
  }
  const lost = daemonLost(lines);
  if (lost.length > 0) return lost;
  const daemon = findLine(
    lines,
    /Cannot connect to the Docker daemon at \S+\. Is the docker daemon running\?|cannot connect to the Docker daemon\. Is 'docker daemon' running on this host\?|error during connect:/i,
  );
  if (daemon >= 0) {
    return [
      {
        kind: 'docker-daemon-unavailable',
        summary: 'The Docker daemon is not running or not reachable at the configured socket.',
        excerpt: excerpt(lines, daemon),
        fixable: false,
        fix: { action: 'start-docker-daemon' },
        nextStep:
          'Start Docker (`sudo systemctl start docker`, or Docker Desktop) and check DOCKER_HOST / the docker context; if Docker cannot run here, build on CodeBuild instead.',
      },
    ];
  }
  const buildx = findLine(
    lines,
    /BuildKit is enabled but the buildx component is missing or broken|'buildx' is not a docker command/,
  );
  if (buildx >= 0) {
    return [
      {
        kind: 'buildkit-unavailable',
        summary: 'BuildKit was requested but this docker client has no working buildx plugin.',
        excerpt: excerpt(lines, buildx, buildx + 2),
        fixable: true,
        fix: { action: 'use-builder', builder: 'legacy' },
        nextStep:
          'Rebuild with the legacy builder (DOCKER_BUILDKIT=0), or install the docker-buildx plugin to keep BuildKit.',
      },
    ];
  }
  return [];
}

/**
 * The client lost its connection to the daemon while the build ran: the daemon stopped, restarted or crashed (or
 * a remote engine's link dropped). BuildKit's client says `error reading from server: EOF` / `transport is closing`;
 * the legacy client ends its output with a bare `unexpected EOF`. Nothing in the Dockerfile is at fault.
 */
function daemonLost(lines: readonly string[]): Diagnosis[] {
  const index = findLine(
    lines,
    /(?:rpc error: code = Unavailable desc = |\bUnavailable: )(?:error reading from server: EOF|transport is closing)|^(?:error waiting for container: )?unexpected EOF$/,
  );
  if (index < 0) return [];
  return [
    {
      kind: 'docker-daemon-lost',
      summary:
        'The connection to the Docker daemon was lost during the build: the daemon stopped, restarted or crashed. The Dockerfile is not at fault.',
      excerpt: excerpt(lines, index),
      fixable: false,
      fix: { action: 'start-docker-daemon' },
      nextStep:
        'Check that the Docker daemon is running again (`docker info`; on Linux `sudo systemctl status docker` and `journalctl -u docker` for why it stopped, often out of memory or disk), then rebuild unchanged.',
    },
  ];
}

/** `RUN --mount` (and other BuildKit-only syntax) under the legacy builder. */
export function buildkitRequired(scope: FailureScope): Diagnosis[] {
  const index = findLine(
    scope.allLines,
    /the --(mount|chmod|link|network|security|parents|exclude) option requires BuildKit/,
  );
  if (index < 0) return [];
  const option = /the --(\S+) option/.exec(scope.allLines[index]!)![1]!;
  return [
    {
      kind: 'buildkit-required',
      summary: `The Dockerfile uses \`--${option}\`, which only BuildKit understands, but the build ran on the legacy builder.`,
      ...lineOf(scope.dockerfileLine),
      excerpt: excerpt(scope.allLines, index),
      fixable: false,
      fix: { action: 'use-builder', builder: 'buildkit' },
      nextStep:
        'Build with BuildKit (DOCKER_BUILDKIT=1, or install the docker-buildx plugin; Docker 23+ uses it by default), or rewrite the instruction without the option, then rebuild.',
    },
  ];
}

/** The image or a pulled base is for another CPU architecture than the host (or than --platform asked). */
export function platformMismatch(scope: FailureScope): Diagnosis[] {
  const lines = scope.allLines;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const requested =
      /requested image's platform \(([^)]+)\) does not match the detected host platform \(([^)]+)\)/.exec(line);
    const noMatch = /no match for platform in manifest|no matching manifest for (\S+) in the manifest list/.exec(line);
    if (!requested && !noMatch) continue;
    const summary = requested
      ? `The image is built for ${requested[1]} but this host is ${requested[2]}: it will run only under emulation, if at all.`
      : `The base image publishes no variant for ${noMatch![1] ?? 'the requested platform'}.`;
    return [
      {
        kind: 'platform-mismatch',
        summary,
        ...lineOf(scope.dockerfileLine),
        excerpt: excerpt(lines, index),
        fixable: false,
        fix: {
          action: 'manual',
          change: 'build for the platform the image will run on',
          details: requested ? { image: requested[1]!, host: requested[2]! } : {},
        },
        nextStep:
          'Build with --platform set to where the image will run (linux/amd64 for most GPU hosts), on a machine of that architecture or with QEMU/buildx emulation; for arm64 pick a base image that publishes arm64. Then rebuild.',
      },
    ];
  }
  return [];
}
