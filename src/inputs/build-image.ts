import path from 'node:path';
import type { BuildImageParams } from '../build-model/api.js';
import { DEFAULT_CODEBUILD_PROJECT, DEFAULT_REGION } from '../environment/aws-probe.js';
import { defineInputs, type InputOf } from './define.js';
import { MAX_PLATFORMS, parsePlatforms, platformFlag } from '../docker/platforms.js';
import { bool, int, list, record, text, textOrList } from './field.js';
import { dockerTargetFields } from './docker-target-fields.js';
import { sourceFields } from './source-fields.js';
import { secretFields } from './secret-fields.js';
import { patterns } from './patterns.js';

/** Turns a folder name into a valid image name: lowercase, only [a-z0-9._-], starting with a letter or digit. */
export function defaultImageName(contextDir: string): string {
  const name = path
    .basename(path.resolve(contextDir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return name || 'image';
}

export const buildImageInputs = defineInputs('build_image', 'build', {
  context: sourceFields.context,
  dockerfile: sourceFields.dockerfile,
  image_name: text({
    min: 1,
    pattern: patterns.imageName,
    description: 'Image name without tag. Default: the context folder name made into a valid reference.',
    cli: { flag: '--image-name', value: '<name>', help: 'image name (default: the context folder name)' },
  }),
  image_tag: text({
    min: 1,
    max: 128,
    pattern: patterns.imageTag,
    default: 'latest',
    description: 'Image tag.',
    cli: { flag: '--image-tag', value: '<tag>', help: 'image tag' },
  }),
  auto_fix: bool({
    default: true,
    description: 'Fix known conflicts automatically: before building and after a failed attempt.',
    cli: { flag: '--auto-fix', help: 'fix conflicts automatically (default)', negated: 'do not fix anything' },
  }),
  fix_before_build: bool({
    default: true,
    description:
      'Apply analyze_dockerfile fixes before the first attempt; false builds the file as written and only fixes what a failed build log shows.',
    cli: {
      flag: '--fix-before-build',
      help: 'apply analysis fixes before the first attempt (default)',
      negated: 'only fix what a failed build log shows',
    },
  }),
  smoke_test: bool({
    default: true,
    description: 'Smoke-test the image after a successful build.',
    cli: { flag: '--smoke-test', help: 'smoke-test the image (default)', negated: 'skip the smoke test' },
  }),
  smoke_commands: list({
    maxItems: 20,
    pattern: patterns.command,
    default: [],
    description: 'Extra shell commands the smoke test runs inside the image; each must exit 0.',
    cli: {
      flag: '--smoke-command',
      value: '<command>',
      help: 'extra command the smoke test runs in the image (repeatable)',
    },
  }),
  max_attempts: int({
    min: 1,
    max: 10,
    default: 3,
    description: 'Most build attempts (the first plus retries after fixes).',
    cli: { flag: '--max-attempts', value: '<n>', help: 'most build attempts' },
  }),
  base_image: sourceFields.base_image,
  use_sudo: bool({
    default: false,
    description: 'Run docker through `sudo -n` (see detect_environment).',
    cli: { flag: '--use-sudo', help: 'run docker through sudo -n' },
  }),
  force_local: bool({
    default: false,
    description: 'Build with local Docker only; fail instead of falling back.',
    cli: { flag: '--force-local', help: 'use local Docker only (fail if unavailable)', conflicts: 'force_codebuild' },
  }),
  force_codebuild: bool({
    default: false,
    description: 'Build in AWS CodeBuild even when Docker is available (charges apply).',
    cli: { flag: '--force-codebuild', help: 'use AWS CodeBuild (charges apply)', conflicts: 'force_local' },
  }),
  wait: bool({
    default: true,
    description: 'Wait for the build (up to the soft deadline); false returns the build_id at once.',
    cli: {
      flag: '--wait',
      help: 'wait for completion (default)',
      negated: 'start the build and print its id at once (CodeBuild: project:uuid); follow it with `status`',
    },
  }),
  timeout: int({
    min: 30,
    max: 8 * 3600,
    default: 3600,
    description: 'Build timeout in seconds; the build is stopped after it.',
    cli: { flag: '--timeout', value: '<seconds>', help: 'build timeout in seconds' },
  }),
  build_args: sourceFields.build_args,
  target: text({
    min: 1,
    pattern: patterns.stageName,
    description: 'Stage to build (--target).',
    cli: { flag: '--target', value: '<stage>', help: 'stage to build' },
  }),
  platform: textOrList({
    maxItems: MAX_PLATFORMS,
    pattern: patterns.platforms,
    description:
      'Target platform(s) (--platform): "linux/amd64", a comma list "linux/amd64,linux/arm64", or a list of them. Several platforms make one manifest list where the engine has the containerd image store; otherwise one image per platform tagged <tag>-<arch> (e.g. v1-arm64), with image_tag naming the first. Other architectures than the host run under QEMU emulation (slower). Several platforms: local builds only.',
    cli: {
      flag: '--platform',
      value: '<platforms>',
      help: 'target platform(s), e.g. linux/amd64 or linux/amd64,linux/arm64 (repeatable)',
    },
  }),
  no_cache: bool({
    default: false,
    description: 'Do not use the build cache (--no-cache).',
    cli: { flag: '--no-cache', help: 'do not use the build cache' },
  }),
  pull: bool({
    default: false,
    description: 'Always try to pull newer base images (--pull).',
    cli: { flag: '--pull', help: 'always pull newer base images' },
  }),
  labels: record({
    default: {},
    description: 'Image labels (--label KEY=VALUE).',
    cli: { flag: '--label', value: '<KEY=VALUE>', help: 'image label (repeatable)' },
  }),
  write_fixes: bool({
    default: false,
    description: 'Also write the fixes into your Dockerfile and requirement files (atomically, with a .bak backup).',
    cli: { flag: '--write-fixes', help: 'write fixes into your files (atomically, with a backup)' },
  }),
  force_write: bool({
    default: false,
    description:
      'With write_fixes: also write files that are read-only (no write permission); otherwise they are left as they are and the build says so.',
    cli: { flag: '--force-write', help: 'with --write-fixes, also write read-only files' },
  }),
  region: text({
    min: 1,
    pattern: patterns.region,
    description: 'AWS region, used when the build would go to CodeBuild.',
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
    description: 'CodeBuild project, used when the build would go to CodeBuild.',
    cli: { flag: '--codebuild-project', value: '<name>', help: 'CodeBuild project' },
  }),
  s3_bucket: text({
    min: 3,
    max: 63,
    pattern: patterns.s3Bucket,
    description:
      'S3 bucket for the CodeBuild source zip. Default: docker-image-builder-<account>-<region>, created when missing.',
    cli: {
      flag: '--s3-bucket',
      value: '<bucket>',
      help: 'S3 bucket for the CodeBuild source (default: auto-generated)',
    },
  }),
  confirm_charges: bool({
    default: false,
    description:
      'Skip the question about CodeBuild charges: without it, a client that supports elicitation is asked (estimate, project, compute type, region) before anything is uploaded or started, and a decline starts nothing. Set it for scripted use once the user has agreed to pay. Local builds are free and never ask.',
    cli: { none: 'the CLI never asks; it prints the charges warning' },
  }),
  push: bool({
    default: false,
    description:
      'After a successful build and smoke test, push the image to the registry named in image_name (which must start with a registry host, e.g. "127.0.0.1:5000/team/app" or "docker.io/user/app"). Uses the logins of your DOCKER_CONFIG (`docker login HOST`); an ECR host (<account>.dkr.ecr.<region>.amazonaws.com) is logged in with ecr:GetAuthorizationToken. Local builds only.',
    cli: { flag: '--push', help: 'push the image to the registry in --image-name after a good build' },
  }),
  cache_from: list({
    maxItems: 10,
    default: [],
    description:
      'Build cache sources, docker syntax: "type=registry,ref=HOST/NAME:TAG" (also an image pushed with inline cache) or "type=local,src=DIR". BuildKit only.',
    cli: {
      flag: '--cache-from',
      value: '<spec>',
      help: 'build cache source, e.g. type=registry,ref=IMAGE (repeatable)',
    },
  }),
  cache_to: list({
    maxItems: 10,
    default: [],
    description:
      'Build cache exports, docker syntax: "type=inline" (cache in the image; pair with push), "type=registry,ref=HOST/NAME:CACHETAG" or "type=local,dest=DIR". BuildKit only; the default "docker" buildx driver exports only type=inline (refused otherwise, with the fix).',
    cli: { flag: '--cache-to', value: '<spec>', help: 'build cache export, e.g. type=inline (repeatable)' },
  }),
  docker_context: dockerTargetFields.docker_context,
  builder: dockerTargetFields.builder,
  secrets: secretFields.secrets,
  ssh: secretFields.ssh,
  tail_lines: int({
    min: 0,
    max: 500,
    default: 40,
    description: 'How many last log lines the result carries.',
    cli: {
      none: 'the CLI prints the log file path (log_file) instead; `status <build-id> --tail-lines N` prints a tail',
    },
  }),
});

export type BuildImageInput = InputOf<typeof buildImageInputs>;

/** The build service's parameters for a build_image input: the tool and `build` both start builds with these. */
export function toBuildImageParams(input: BuildImageInput): BuildImageParams {
  return {
    context: input.context,
    dockerfile: input.dockerfile,
    imageName: input.image_name ?? defaultImageName(input.context),
    imageTag: input.image_tag,
    autoFix: input.auto_fix,
    fixBeforeBuild: input.fix_before_build,
    smokeTest: input.smoke_test,
    smokeCommands: input.smoke_commands,
    maxAttempts: input.max_attempts,
    baseImage: input.base_image,
    useSudo: input.use_sudo,
    forceLocal: input.force_local,
    forceCodebuild: input.force_codebuild,
    buildArgs: input.build_args,
    target: input.target,
    platform: platformFlag(parsePlatforms(input.platform)),
    noCache: input.no_cache,
    pull: input.pull,
    labels: input.labels,
    writeFixes: input.write_fixes,
    forceWrite: input.force_write,
    timeoutSeconds: input.timeout,
    region: input.region,
    codebuildProject: input.codebuild_project,
    s3Bucket: input.s3_bucket,
    confirmCharges: input.confirm_charges,
    push: input.push,
    cacheFrom: input.cache_from,
    cacheTo: input.cache_to,
    dockerContext: input.docker_context,
    builder: input.builder,
    secrets: input.secrets,
    ssh: input.ssh,
  };
}
