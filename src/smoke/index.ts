// The smoke-test service's public surface, for the smoke_test tool, build_image and the CLI.
export {
  DEFAULT_SMOKE_TIMEOUT_SECONDS,
  removeSmokeContainers,
  SMOKE_LABEL,
  SMOKE_RUN_LABEL,
  SmokeTester,
  type RemoveSmokeContainersOptions,
  type SmokeMode,
  type SmokeRunHooks,
  type SmokeRunOptions,
  type SmokeTesterOptions,
} from './smoke-tester.js';
export {
  smokeCheckSchema,
  smokeResultSchema,
  type SmokeCheck,
  type SmokeCheckStatus,
  type SmokeResult,
  type SmokeTestInput,
} from '../build-model/smoke-schema.js';
export { checkCompanion, expectedCompanion } from './companions.js';
