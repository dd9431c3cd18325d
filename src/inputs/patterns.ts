import { DOMAIN, NAME_COMPONENT } from '../docker/build-args.js';
import { BUILDER_NAME, CONTEXT_NAME } from '../docker/buildx.js';
import type { Limits } from './field.js';

type Pattern = NonNullable<Limits['pattern']>;

/**
 * The forms Docker and AWS accept, checked when a call arrives (before anything starts) so that each error names
 * its own field and shows a valid example. Sources: distribution/reference for image names and tags, BuildKit for
 * stage names, the CodeBuild API reference (CreateProject name), S3 bucket naming rules, AWS region codes.
 */
export const patterns = {
  imageName: {
    regex: new RegExp(`^(?:${DOMAIN}/)?${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`),
    looksLike:
      'an image name without tag: lowercase letters, digits and . _ - in parts joined by /, with an optional registry host first, e.g. "fsdp" or "registry.example.com:5000/team/fsdp"',
  },
  imageTag: {
    regex: /^[\w][\w.-]{0,127}$/,
    looksLike:
      'a tag of letters, digits, _ . - (not starting with . or -), at most 128 characters, e.g. "latest" or "v1.2"',
  },
  imageReference: {
    regex: new RegExp(
      `^(?:${DOMAIN}/)?${NAME_COMPONENT}(?:/${NAME_COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
    ),
    looksLike:
      'an image reference name[:tag][@sha256:digest] with no spaces, e.g. "pytorch/pytorch:2.7.1-cuda12.6-cudnn9-runtime"',
  },
  platforms: {
    // os/arch[/variant], or docker's comma list of them.
    regex: /^[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?(?:,[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?)*$/,
    looksLike: 'os/arch[/variant], or a comma list of them, e.g. "linux/amd64" or "linux/amd64,linux/arm64"',
  },
  stageName: {
    // BuildKit's rule, spelt out in both cases: JSON Schema patterns carry no flags.
    regex: /^[A-Za-z][A-Za-z0-9_.-]*$/,
    looksLike: 'a stage name from a `FROM … AS name` line: a letter, then letters, digits, _ - or ., e.g. "runtime"',
  },
  region: {
    regex: /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/,
    looksLike: 'an AWS region code, e.g. "us-west-2" or "eu-central-1"',
  },
  codebuildProject: {
    regex: /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/,
    looksLike:
      'a CodeBuild project name: 2 to 255 letters, digits, _ or -, starting with a letter or digit, e.g. "pytorch-fsdp"',
  },
  s3Bucket: {
    regex: /^(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    looksLike:
      'an S3 bucket name: 3 to 63 lowercase letters, digits, . or -, starting and ending with a letter or digit, e.g. "my-team-build-sources"',
  },
  dockerContext: {
    // docker/cli's context store rule.
    regex: CONTEXT_NAME,
    looksLike:
      'a docker context name: a letter or digit, then letters, digits, _ . + or - (at least 2 characters), e.g. "remote-gpu"',
  },
  buildxBuilder: {
    // buildx's rule for builder names, or a context's (buildx lists every context as a builder).
    regex: BUILDER_NAME,
    looksLike:
      'a buildx builder name: a letter, then letters, digits, . _ or -, or a docker context name, e.g. "gpu-builder"',
  },
  /** Something to run: not blank, no NUL (which no shell argument can carry). */
  command: {
    // eslint-disable-next-line no-control-regex -- NUL is the character refused
    regex: /^(?=[\s\S]*\S)[^\u0000]*$/,
    looksLike: 'a shell command that is not blank and has no NUL character, e.g. "python3 -c \\"import torch\\""',
  },
  /** A path: no NUL, not blank. */
  path: {
    // eslint-disable-next-line no-control-regex -- NUL is the character refused
    regex: /^(?=[\s\S]*\S)[^\u0000]*$/,
    looksLike: 'a path that is not blank and has no NUL character, e.g. "." or "docker/Dockerfile.train"',
  },
} satisfies Record<string, Pattern>;
