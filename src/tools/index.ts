import { environmentDeps, type ServerDeps } from '../deps.js';
import { analyzeDockerfileTool } from './analyze-dockerfile.js';
import { buildImageTool } from './build-image.js';
import { cancelBuildTool } from './cancel-build.js';
import { detectEnvironmentTool } from './detect-environment.js';
import { diagnoseBuildLogTool } from './diagnose-build-log.js';
import { getBuildStatusTool } from './get-build-status.js';
import { listBuildsTool } from './list-builds.js';
import { smokeTestTool } from './smoke-test.js';
import type { AnyToolDefinition } from './tool.js';

/** Every tool the server offers, in the order an agent uses them. */
export function createTools(deps: ServerDeps): AnyToolDefinition[] {
  return [
    detectEnvironmentTool(environmentDeps(deps)),
    analyzeDockerfileTool(deps.builds),
    buildImageTool({
      builds: deps.builds,
      softDeadlineSeconds: deps.config.softDeadlineSeconds,
      heartbeatSeconds: deps.config.heartbeatSeconds,
    }),
    getBuildStatusTool(deps.builds),
    listBuildsTool(deps.builds),
    cancelBuildTool(deps.builds),
    smokeTestTool(deps.builds),
    diagnoseBuildLogTool(),
  ];
}
