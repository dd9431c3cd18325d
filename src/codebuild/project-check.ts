/** Whether the CodeBuild project exists and can run Docker builds (BatchGetProjects). */
import type { Project } from '@aws-sdk/client-codebuild';
import { describeAwsError, unexpectedAwsAnswer } from '../util/aws-errors.js';
import { InputError } from '../util/errors.js';
import { withDeadline } from './clients.js';
import { codebuildCall, type CodeBuildIo } from './codebuild-io.js';
import { setupCommand } from './setup/setup.js';

export interface ProjectCheck {
  exists: boolean;
  name: string;
  region: string;
  arn?: string;
  computeType?: string;
  environmentType?: string;
  image?: string;
  privilegedMode?: boolean;
  serviceRole?: string;
  timeoutInMinutes?: number;
  sourceType?: string;
  /** Set when the project is missing: the seed's message and the command that creates it. */
  message?: string;
  setupCommand?: string;
  /** Things about an existing project that matter for Docker builds. */
  warnings: string[];
}

/** The seed's "CodeBuild project not found", with the setup command that creates it. */
export function projectNotFoundError(project: string, region: string): InputError {
  const command = setupCommand(project, region);
  return new InputError(
    'codebuild_project',
    `CodeBuild project not found: ${project} (region ${region}). Create it with: ${command}`,
    `Run \`${command}\` (add --dry-run to see what it creates), or pass --codebuild-project with an existing project.`,
  );
}

function dockerWarnings(found: Project): string[] {
  const env = found.environment;
  const warnings: string[] = [];
  if (env?.computeType?.startsWith('BUILD_LAMBDA')) {
    warnings.push(`${env.computeType} runs on AWS Lambda, which cannot run Docker; use an EC2 compute type`);
  }
  if (env?.type !== undefined && /WINDOWS/.test(env.type)) {
    warnings.push(`the project runs ${env.type}; Linux images need a LINUX_CONTAINER project`);
  }
  if (env?.type === 'ARM_CONTAINER') warnings.push('the project runs on ARM: images are built for linux/arm64');
  return warnings;
}

/** BatchGetProjects: whether the project exists and how it is configured. Never throws for a missing project. */
export async function checkProject(io: CodeBuildIo, project: string, region: string): Promise<ProjectCheck> {
  const { client, sdk } = await io.codebuild(region);
  let answer;
  try {
    answer = await withDeadline(
      (abortSignal) => client.send(new sdk.BatchGetProjectsCommand({ names: [project] }), { abortSignal }),
      io.call(),
    );
  } catch (error) {
    throw describeAwsError(error, codebuildCall('BatchGetProjects', project, region));
  }
  if (answer.projects !== undefined && !Array.isArray(answer.projects)) {
    throw unexpectedAwsAnswer(codebuildCall('BatchGetProjects', project, region), 'the answer has no list of projects');
  }
  const projects = answer.projects ?? [];
  const found: Project | undefined = projects.find((p) => p.name === project);
  if (found === undefined) {
    return {
      exists: false,
      name: project,
      region,
      message: projectNotFoundError(project, region).message,
      setupCommand: setupCommand(project, region),
      warnings: [],
    };
  }
  const env = found.environment;
  return {
    exists: true,
    name: project,
    region,
    ...(found.arn === undefined ? {} : { arn: found.arn }),
    ...(env?.computeType === undefined ? {} : { computeType: env.computeType }),
    ...(env?.type === undefined ? {} : { environmentType: env.type }),
    ...(env?.image === undefined ? {} : { image: env.image }),
    ...(env?.privilegedMode === undefined ? {} : { privilegedMode: env.privilegedMode }),
    ...(found.serviceRole === undefined ? {} : { serviceRole: found.serviceRole }),
    ...(found.timeoutInMinutes === undefined ? {} : { timeoutInMinutes: found.timeoutInMinutes }),
    ...(found.source?.type === undefined ? {} : { sourceType: found.source.type }),
    warnings: dockerWarnings(found),
  };
}

/** checkProject, throwing the seed's "CodeBuild project not found" (InputError) when it is missing or unusable. */
export async function requireProject(io: CodeBuildIo, project: string, region: string): Promise<ProjectCheck> {
  const check = await checkProject(io, project, region);
  if (!check.exists) throw projectNotFoundError(project, region);
  if (check.computeType?.startsWith('BUILD_LAMBDA') || (check.environmentType ?? '').includes('WINDOWS')) {
    throw new InputError(
      'codebuild_project',
      `CodeBuild project ${project} cannot run Docker builds: ${check.warnings.join('; ')}`,
      `Use another project, or create one with: ${setupCommand(`${project}-docker`, region)}`,
    );
  }
  return check;
}
