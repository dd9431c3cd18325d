import { baseCudaRule } from './base-cuda.js';
import { baseTagsRule } from './base-tags.js';
import { companionsRule } from './companions.js';
import { createRun } from './context.js';
import { cudaVariantRule } from './cuda-variant.js';
import { gpuArchRule } from './gpu-arch.js';
import { indexUrlRule } from './index-url.js';
import { mixedVariantsRule } from './mixed-variants.js';
import { pipCacheRule } from './pip-cache.js';
import { platformRule } from './platform.js';
import { pythonMissingRule } from './python-missing.js';
import { pythonSupportRule } from './python-support.js';
import { requirementsMissingRule } from './requirements-missing.js';
import { secretArgsRule } from './secret-args.js';
import { simulateStages } from './simulate.js';
import { torchReplacedRule } from './torch-replaced.js';
import type { DockerfileRule, RuleContext, RuleOutput } from './types.js';

export { CATEGORIES, type Category } from '../categories.js';
export type {
  DockerfileRule,
  Edit,
  PkgState,
  PlatformFacts,
  RawFinding,
  RuleContext,
  RuleOutput,
  Severity,
  StageState,
} from './types.js';

/**
 * The analyser's rules, one module per family. A new rule is a module and a row here. The order is the order of
 * the findings for each hook (see DockerfileRule), so keep it.
 */
export const RULES: readonly DockerfileRule[] = [
  baseTagsRule,
  platformRule,
  pythonMissingRule,
  pipCacheRule,
  indexUrlRule,
  cudaVariantRule,
  companionsRule,
  pythonSupportRule,
  torchReplacedRule,
  mixedVariantsRule,
  baseCudaRule,
  gpuArchRule,
  requirementsMissingRule,
  secretArgsRule,
];

/** Runs every rule over the model: model checks, the stage simulation with its install checks, final checks. */
export function runRules(context: RuleContext, rules: readonly DockerfileRule[] = RULES): RuleOutput {
  const run = createRun(context);
  for (const rule of rules) rule.checkModel?.(run);
  simulateStages(run, rules);
  for (const rule of rules) rule.checkFinal?.(run);
  return { findings: run.findings, states: run.states };
}
