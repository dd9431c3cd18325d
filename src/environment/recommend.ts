import { shellLine } from '../util/quoted.js';
import type { AwsStatus } from './aws-probe.js';
import { daemonStateInWords, type DockerStatus } from './docker-probe.js';

export type BuildMode = 'local' | 'codebuild' | 'none';

export interface Recommendation {
  mode: BuildMode;
  /** True when a build in this mode can start now; false when something must be fixed first. */
  ready: boolean;
  reason: string;
  warnings: string[];
  next_steps: string[];
}

export const CODEBUILD_CHARGES_WARNING =
  'CodeBuild builds are billed to your AWS account (about $0.10 per PyTorch image build on BUILD_GENERAL1_MEDIUM, ~20-25 min).';
export const FALLBACK_MESSAGE = 'Docker not available locally. Falling back to CodeBuild.';
export const NEITHER_AVAILABLE_MESSAGE = 'Neither Docker nor AWS CLI/credentials are available';

const INSTALL_OR_CONFIGURE = [
  'Option A: install Docker (Docker Engine or Docker Desktop) and start it, for free local builds.',
  'Option B: configure AWS credentials for CodeBuild (`aws configure`, or AWS_PROFILE / AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY).',
];

export interface RecommendInput {
  docker: DockerStatus;
  aws: AwsStatus;
  forceLocal: boolean;
  forceCodebuild: boolean;
}

function codebuildWarnings(aws: AwsStatus): string[] {
  const warnings = [CODEBUILD_CHARGES_WARNING];
  if (aws.codebuild_project.error) {
    warnings.push(`Could not check CodeBuild project ${aws.codebuild_project.name}: ${aws.codebuild_project.error}`);
  }
  return warnings;
}

function codebuildProblems(aws: AwsStatus): string[] {
  const steps: string[] = [];
  if (!aws.credentials.found) steps.push('Configure AWS credentials (`aws configure`) so CodeBuild can be used.');
  const project = aws.codebuild_project;
  if (project.checked && project.exists === false) {
    steps.push(
      `CodeBuild project not found: ${project.name}. Create it with \`${shellLine('docker-image-builder', 'setup-codebuild', '--project-name', project.name, '--region', aws.region.name)}\`.`,
    );
  }
  return steps;
}

function dockerUnavailableSteps(docker: DockerStatus): string[] {
  return docker.daemon.hint ? [docker.daemon.hint] : [];
}

/** force_local, docker_context or builder: local Docker only, never a fallback (they name where to build). */
function localOnly(docker: DockerStatus, forceLocal: boolean): Recommendation {
  const selection = docker.selection;
  const named = selection
    ? [
        selection.docker_context ? `docker_context "${selection.docker_context}"` : '',
        selection.builder ? `builder "${selection.builder}"` : '',
      ]
        .filter(Boolean)
        .join(' and ')
    : '';
  const why = forceLocal ? 'force_local is set' : `${named} ${named.includes(' and ') ? 'are' : 'is'} set`;
  if (selection && !selection.ok) {
    return {
      mode: 'local',
      ready: false,
      reason: `${why} but cannot be used: ${selection.error ?? ''}`.trim(),
      warnings: [],
      next_steps: selection.hint ? [selection.hint] : [],
    };
  }
  if (docker.daemon.state === 'reachable') {
    return { mode: 'local', ready: true, reason: `${why} and Docker answers.`, warnings: [], next_steps: [] };
  }
  return {
    mode: 'local',
    ready: false,
    reason: `${why} but Docker is ${daemonStateInWords(docker.daemon.state)}: ${docker.daemon.error ?? ''}`.trim(),
    warnings: [],
    next_steps: dockerUnavailableSteps(docker),
  };
}

/** The seed's detection order: forced modes, then local Docker, then CodeBuild when credentials resolve, else none. */
export function recommendMode({ docker, aws, forceLocal, forceCodebuild }: RecommendInput): Recommendation {
  const dockerReady = docker.daemon.state === 'reachable';
  if (forceLocal || docker.selection) return localOnly(docker, forceLocal);
  if (forceCodebuild) {
    const problems = codebuildProblems(aws);
    return {
      mode: 'codebuild',
      ready: problems.length === 0,
      reason: 'force_codebuild is set.',
      warnings: codebuildWarnings(aws),
      next_steps: problems,
    };
  }
  if (dockerReady) {
    return {
      mode: 'local',
      ready: true,
      reason: 'Docker is installed and the daemon answers.',
      warnings: [],
      next_steps: [],
    };
  }
  const sudoHint =
    docker.daemon.state === 'permission-denied' && !docker.use_sudo
      ? ['Docker runs here but needs sudo: pass use_sudo: true to build locally for free instead.']
      : [];
  if (aws.credentials.found) {
    const problems = codebuildProblems(aws);
    return {
      mode: 'codebuild',
      ready: problems.length === 0,
      reason: `${FALLBACK_MESSAGE} (Docker is ${daemonStateInWords(docker.daemon.state)}; AWS credentials from ${aws.credentials.source}.)`,
      warnings: [...codebuildWarnings(aws), ...sudoHint],
      next_steps: [...sudoHint, ...problems],
    };
  }
  const awsCliNote = aws.cli.found ? ' The AWS CLI is installed but no credentials resolve.' : '';
  return {
    mode: 'none',
    ready: false,
    reason: `${NEITHER_AVAILABLE_MESSAGE}. Docker is ${daemonStateInWords(docker.daemon.state)}.${awsCliNote}`,
    warnings: [],
    next_steps: [...sudoHint, ...dockerUnavailableSteps(docker), ...INSTALL_OR_CONFIGURE],
  };
}
