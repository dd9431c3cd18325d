import type { SmokeResult } from '../build-model/smoke-schema.js';
import { ExpectedFailure, InputError, failureText } from '../util/errors.js';
import type { AttemptOutcome, BuildPorts } from '../build-model/attempt.js';
import type { CodeBuildRunner } from '../codebuild/codebuild-runner.js';
import { planAfterFailure, prepareSources, writeFixesToContext } from './fixes.js';

export interface CodeBuildTargetOptions {
  runner: CodeBuildRunner;
  project: string;
  region: string;
  bucket?: string;
}

/**
 * The attempt loop's ports for CodeBuild: the same analysis, fixes and diagnosis as a local build; the build and its
 * GPU-less smoke checks run in CodeBuild, and their results come back with the attempt.
 */
export function codebuildPorts(options: CodeBuildTargetOptions): BuildPorts {
  let last: { imageId?: string; smoke?: SmokeResult } = {};
  return {
    prepare: (request, workDir) => prepareSources(request, workDir),
    runAttempt: async (request, input): Promise<AttemptOutcome> => {
      try {
        const outcome = await options.runner.runAttempt(request, input, {
          project: options.project,
          region: options.region,
          ...(options.bucket ? { bucket: options.bucket } : {}),
        });
        last = { imageId: outcome.imageId, smoke: outcome.smoke };
        return { ...outcome, remoteId: outcome.codebuildBuildId, consoleUrl: outcome.consoleUrl };
      } catch (error) {
        // Problems before the build starts (bucket, credentials, project) are the attempt's failure, with the text.
        if (!(error instanceof InputError || error instanceof ExpectedFailure)) throw error;
        return {
          success: false,
          cancelled: error instanceof ExpectedFailure && error.kind === 'cancelled',
          builder: 'codebuild',
          errorMessage: failureText(error),
          logFile: input.logFile,
        };
      }
    },
    planAfterFailure: (request, outcome, prepared, workDir) => planAfterFailure(request, outcome, prepared, workDir),
    smokeTest: async (request, imageRef) =>
      last.smoke ?? {
        image: imageRef,
        passed: false,
        checks: [],
        gpu_runtime: false,
        container_names: [],
        duration_ms: 0,
        notes: ['CodeBuild reported no smoke-test results for this build; read the log for the post_build phase.'],
      },
    imageInfo: async () => ({ id: last.imageId }),
    writeFixes: (request, prepared) => writeFixesToContext(request, prepared),
  };
}
