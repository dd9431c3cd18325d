/**
 * Starting a build: check the project, warn about the cost, package the context (the fixed Dockerfile included),
 * make sure the bucket exists, upload the zip unless the same bytes are already there (content-addressed key,
 * HeadObject first), then `StartBuild` with the S3 source, the generated buildspec, privileged mode and the timeout.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AttemptInput, BuildRequest } from '../build-model/attempt.js';
import { awsErrorName, describeAwsError, unexpectedAwsAnswer } from '../util/aws-errors.js';
import { InputError } from '../util/errors.js';
import { generateBuildspec } from './buildspec.js';
import { buildspecSecrets, codebuildVariables, type CodeBuildVariable } from './build-env.js';
import { withDeadline } from './clients.js';
import { accountFromArn, buildConsoleUrl } from './codebuild-ids.js';
import { codebuildCall, type CodeBuildIo } from './codebuild-io.js';
import type { ExtraFile } from './context-package.js';
import { estimateCost, timeoutMinutesFor, type CostEstimate } from './cost.js';
import { INFO, type Sink } from './log-processor.js';
import { projectNotFoundError, requireProject } from './project-check.js';
import { defaultBucketName, ensureBucket, uploadBuildContext, type UploadBuildContextResult } from './s3-upload.js';

/** Name of the fixed Dockerfile in the zip when the attempt's Dockerfile lies outside the context. */
export const FIXED_DOCKERFILE_NAME = 'Dockerfile.dib-fixed';

export interface CodeBuildRunOptions {
  project: string;
  region: string;
  /** Default `docker-image-builder-<account>-<region>`. */
  bucket?: string;
}

export interface CodeBuildLaunch {
  codebuildBuildId: string;
  buildArn?: string;
  consoleUrl: string;
  region: string;
  accountId: string;
  costEstimate: CostEstimate;
  upload: Pick<UploadBuildContextResult, 'bucket' | 'key' | 'sha256' | 'byteLength' | 'uploaded' | 'sourceLocation'>;
}

export type LaunchInput = Pick<AttemptInput, 'contextDir' | 'dockerfilePath' | 'signal'> & { attempt?: number };

interface ContextSources {
  contextDir: string;
  /** The Dockerfile packaging is anchored on (its ignore file selects what is sent). */
  packagedDockerfile: string;
  /** The Dockerfile `docker build -f` reads in CodeBuild. */
  buildDockerfile: string;
  extraFiles: ExtraFile[];
  dockerfileText: string;
}

const posix = (p: string) => p.split(path.sep).join('/');

/** The Dockerfile inside the zip, and the extra files that put a fixed Dockerfile from outside the context there. */
async function contextSources(request: BuildRequest, input: LaunchInput): Promise<ContextSources> {
  const contextDir = path.resolve(input.contextDir);
  const dockerfileAbs = path.resolve(contextDir, input.dockerfilePath);
  let dockerfileText: string;
  try {
    dockerfileText = await readFile(dockerfileAbs, 'utf8');
  } catch {
    throw new InputError('dockerfile', `cannot read the Dockerfile ${dockerfileAbs}`, 'Check the Dockerfile path.');
  }
  const rel = path.relative(contextDir, dockerfileAbs);
  if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) {
    return { contextDir, packagedDockerfile: posix(rel), buildDockerfile: posix(rel), extraFiles: [], dockerfileText };
  }
  // The fixed Dockerfile lives outside the context: it goes into the zip as Dockerfile.dib-fixed. Packaging is
  // anchored on the user's Dockerfile, so its ignore file selects what is sent. In CodeBuild, BuildKit reads
  // Dockerfile.dib-fixed.dockerignore (the same rules) and the legacy builder reads .dockerignore (the root rules,
  // as locally); both get two lines more so COPY never sees the added files.
  const original = posix(request.dockerfile);
  const originalRel = path.relative(contextDir, path.resolve(contextDir, original));
  if (originalRel === '' || originalRel.startsWith('..') || path.isAbsolute(originalRel)) {
    throw new InputError(
      'dockerfile',
      `${request.dockerfile} is not inside the context ${contextDir}`,
      'Pass a Dockerfile path relative to the context.',
    );
  }
  const readIf = (file: string) => readFile(path.join(contextDir, file), 'utf8').catch(() => undefined);
  const rootIgnore = (await readIf('.dockerignore')) ?? '';
  const ignore = (await readIf(`${original}.dockerignore`)) ?? rootIgnore;
  const own = `${FIXED_DOCKERFILE_NAME}\n${FIXED_DOCKERFILE_NAME}.dockerignore\n`;
  const withOwn = (rules: string) => `${rules}${rules === '' || rules.endsWith('\n') ? '' : '\n'}${own}`;
  const extraFiles: ExtraFile[] = [
    { path: FIXED_DOCKERFILE_NAME, content: dockerfileText },
    { path: `${FIXED_DOCKERFILE_NAME}.dockerignore`, content: withOwn(ignore) },
    { path: '.dockerignore', content: withOwn(rootIgnore) },
  ];
  return {
    contextDir,
    packagedDockerfile: posix(originalRel),
    buildDockerfile: FIXED_DOCKERFILE_NAME,
    extraFiles,
    dockerfileText,
  };
}

function buildspecFor(request: BuildRequest, dockerfile: string): string {
  return generateBuildspec({
    dockerfile,
    imageRef: request.imageRef,
    buildArgs: request.buildArgs,
    ...(request.target === undefined ? {} : { target: request.target }),
    ...(request.platform === undefined ? {} : { platform: request.platform }),
    noCache: request.noCache,
    pull: request.pull,
    labels: request.labels,
    smokeTest: request.smokeTest,
    smokeCommands: request.smokeCommands,
    secrets: buildspecSecrets(request.secrets),
  });
}

/** The bucket, made when missing, and the context zip in it (uploaded only when those bytes are not there yet). */
async function uploadSources(
  io: CodeBuildIo,
  sources: ContextSources,
  target: { region: string; accountId: string; bucket: string; signal?: AbortSignal },
  sink: Sink,
): Promise<UploadBuildContextResult> {
  const { region, accountId, bucket } = target;
  const s3 = await io.clients(region).s3();
  const retry = {
    ...(io.deps.s3Retries === undefined ? {} : { retries: io.deps.s3Retries }),
    ...(io.deps.s3RetryDelayMs === undefined ? {} : { retryDelayMs: io.deps.s3RetryDelayMs }),
    signal: target.signal,
  };
  const ensured = await ensureBucket({ s3, bucket, region, expectedOwner: accountId, ...retry });
  if (ensured.created) sink.info(`created the source bucket s3://${bucket} (private, encrypted)`);
  sink.info(`packaging ${sources.contextDir} for s3://${bucket}`);
  const upload = await uploadBuildContext({
    s3,
    bucket,
    context: { contextDir: sources.contextDir, dockerfile: sources.packagedDockerfile, extraFiles: sources.extraFiles },
    expectedOwner: accountId,
    ...retry,
  });
  const size = `${upload.manifest.fileCount} files, ${(upload.byteLength / 1024).toFixed(1)} KiB zipped`;
  sink.info(
    upload.uploaded
      ? `uploaded the context (${size}) to s3://${upload.bucket}/${upload.key}`
      : `the context is unchanged (${size}, sha256 ${upload.sha256.slice(0, 12)}): reusing s3://${upload.bucket}/${upload.key}`,
  );
  return upload;
}

/** StartBuild with the uploaded source and the buildspec; returns the started build. */
async function startBuild(
  io: CodeBuildIo,
  options: CodeBuildRunOptions,
  build: {
    imageRef: string;
    upload: UploadBuildContextResult;
    buildspec: string;
    timeoutMinutes: number;
    attempt: number;
    /** Build-arg values and secret references, which the buildspec only names. */
    variables: CodeBuildVariable[];
  },
) {
  const { project, region } = options;
  const { client, sdk } = await io.codebuild(region);
  let started;
  try {
    // No abort signal: a StartBuild cut off mid-flight could start a build nobody follows. The idempotency token
    // makes the SDK's retries (throttling, 5xx, timeouts) return the same build instead of starting another.
    started = await withDeadline(
      (abortSignal) =>
        client.send(
          new sdk.StartBuildCommand({
            projectName: project,
            sourceTypeOverride: 'S3',
            sourceLocationOverride: build.upload.sourceLocation,
            buildspecOverride: build.buildspec,
            privilegedModeOverride: true,
            timeoutInMinutesOverride: build.timeoutMinutes,
            idempotencyToken: randomUUID(),
            environmentVariablesOverride: [
              { name: 'DIB_IMAGE_REF', value: build.imageRef, type: 'PLAINTEXT' },
              { name: 'DIB_CONTEXT_SHA256', value: build.upload.sha256, type: 'PLAINTEXT' },
              { name: 'DIB_ATTEMPT', value: String(build.attempt), type: 'PLAINTEXT' },
              ...build.variables,
            ],
          }),
          { abortSignal },
        ),
      io.call(),
    );
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') throw projectNotFoundError(project, region);
    throw describeAwsError(error, codebuildCall('StartBuild', project, region));
  }
  const id = started.build?.id;
  if (id === undefined) {
    throw unexpectedAwsAnswer(codebuildCall('StartBuild', project, region), 'the answer has no build id');
  }
  return { id, arn: started.build?.arn };
}

/**
 * Checks the project, uploads the context and starts the build. Returns undefined when the signal aborted before
 * StartBuild. User problems throw InputError (bad input) or ExpectedFailure (AWS said no).
 */
export async function launchBuild(
  io: CodeBuildIo,
  request: BuildRequest,
  input: LaunchInput,
  options: CodeBuildRunOptions,
  sink: Sink,
): Promise<(CodeBuildLaunch & { dockerfileText: string }) | undefined> {
  const { region, project } = options;
  const check = await requireProject(io, project, region);
  for (const warning of check.warnings) {
    sink.emit({ type: 'warning', message: `CodeBuild project ${project}: ${warning}` });
  }
  const timeoutMinutes = timeoutMinutesFor(request.timeoutSeconds);
  const costEstimate = estimateCost(check.computeType ?? 'BUILD_GENERAL1_SMALL', timeoutMinutes, check.environmentType);
  sink.emit({ type: 'warning', message: costEstimate.note });
  sink.write(`${INFO} warning: ${costEstimate.note}`);

  const sources = await contextSources(request, input);
  const accountId = await io.accountId(region).catch((error: unknown) => {
    throw describeAwsError(error, codebuildCall('GetCallerIdentity', project, region, 'STS'));
  });
  const buildspec = buildspecFor(request, sources.buildDockerfile);
  const bucket = options.bucket ?? defaultBucketName(accountId, region);
  const upload = await uploadSources(io, sources, { region, accountId, bucket, signal: input.signal }, sink);
  if (input.signal?.aborted) return undefined;

  const started = await startBuild(io, options, {
    imageRef: request.imageRef,
    upload,
    buildspec,
    timeoutMinutes,
    attempt: input.attempt ?? 1,
    variables: codebuildVariables(request.buildArgs, request.secrets),
  });
  const account = accountFromArn(started.arn) ?? accountId;
  const consoleUrl = buildConsoleUrl(started.id, region, account);
  sink.info(`started CodeBuild build ${started.id} (timeout ${timeoutMinutes} min): ${consoleUrl}`);
  const { bucket: uploadedTo, key, sha256, byteLength, uploaded, sourceLocation } = upload;
  return {
    codebuildBuildId: started.id,
    ...(started.arn === undefined ? {} : { buildArn: started.arn }),
    consoleUrl,
    region,
    accountId: account,
    costEstimate,
    upload: { bucket: uploadedTo, key, sha256, byteLength, uploaded, sourceLocation },
    dockerfileText: sources.dockerfileText,
  };
}
