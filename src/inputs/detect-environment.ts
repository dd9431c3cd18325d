import { DEFAULT_CODEBUILD_PROJECT, DEFAULT_REGION } from '../environment/aws-probe.js';
import type { DetectOptions } from '../environment/detect.js';
import { defineInputs, type InputOf } from './define.js';
import { bool, text } from './field.js';
import { dockerTargetFields } from './docker-target-fields.js';
import { patterns } from './patterns.js';

export const detectEnvironmentInputs = defineInputs('detect_environment', 'detect', {
  region: text({
    min: 1,
    pattern: patterns.region,
    description: 'AWS region for CodeBuild. Default: AWS_REGION, AWS_DEFAULT_REGION, the profile, then us-west-2.',
    cli: {
      flag: '--region',
      value: '<region>',
      help: `AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, profile, ${DEFAULT_REGION})`,
    },
  }),
  codebuild_project: text({
    min: 2,
    max: 255,
    pattern: patterns.codebuildProject,
    default: DEFAULT_CODEBUILD_PROJECT,
    description: 'CodeBuild project whose existence to check.',
    cli: { flag: '--codebuild-project', value: '<name>', help: 'CodeBuild project to check' },
  }),
  use_sudo: bool({
    default: false,
    description: 'Run docker through `sudo -n` (when the socket needs root).',
    cli: { flag: '--use-sudo', help: 'run docker through sudo -n' },
  }),
  force_local: bool({
    default: false,
    description: 'Recommend local Docker only (not ready if Docker is unavailable).',
    cli: { flag: '--force-local', help: 'recommend local Docker only', conflicts: 'force_codebuild' },
  }),
  force_codebuild: bool({
    default: false,
    description: 'Recommend CodeBuild even when Docker is available.',
    cli: { flag: '--force-codebuild', help: 'recommend CodeBuild (charges apply)', conflicts: 'force_local' },
  }),
  docker_context: dockerTargetFields.docker_context,
  builder: dockerTargetFields.builder,
});

export type DetectEnvironmentInput = InputOf<typeof detectEnvironmentInputs>;

export function toDetectOptions(input: DetectEnvironmentInput): DetectOptions {
  return {
    region: input.region,
    codebuildProject: input.codebuild_project,
    useSudo: input.use_sudo,
    forceLocal: input.force_local,
    forceCodebuild: input.force_codebuild,
    dockerContext: input.docker_context,
    builder: input.builder,
  };
}
