/**
 * Dockerfile analyser: finds PyTorch / CUDA / Python / base-image conflicts and fixes them with minimal edits.
 * No MCP imports here; the tool and CLI layers wrap these functions.
 */
export { analyzeDockerfile, analyzeSources, type AnalyzeOptions, type AnalyzeSourcesOptions } from './analyze.js';
export { planRepin, type RepinLocation, type RepinPlan } from './repin.js';
export { buildModel, type Model, type ModelInput } from './model.js';
export { CATEGORIES, type Category, type Severity } from './rules/index.js';
export {
  analysisResultSchema,
  findingSchema,
  fixSchema,
  packageInfoSchema,
  stackSchema,
  textEditSchema,
  type AnalysisResult,
  type Finding,
  type FixOutput,
  type PackageInfo,
  type Stack,
  type TextEditOutput,
} from './schema.js';
export { companionFor, companionVersionFor, checkCompanion, parseGpuTarget } from '../compat/index.js';
