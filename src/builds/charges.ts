// The question asked before a CodeBuild build spends money, and the answer when the user says no.
import type { BuildRefusal, ChargeQuestion } from '../build-model/api.js';
import { estimateCost, timeoutMinutesFor } from '../codebuild/cost.js';
import type { ProjectCheck } from '../codebuild/project-check.js';

/** What the project's build will cost, from its compute type and the build's timeout. */
export function chargeQuestion(check: ProjectCheck, timeoutSeconds: number): ChargeQuestion {
  const cost = estimateCost(
    check.computeType ?? 'BUILD_GENERAL1_SMALL',
    timeoutMinutesFor(timeoutSeconds),
    check.environmentType,
  );
  const estimate =
    cost.typical_usd === undefined || cost.max_usd === undefined
      ? cost.note
      : `about $${cost.typical_usd.toFixed(2)} for a typical ${cost.typical_minutes}-minute build, at most ` +
        `$${cost.max_usd.toFixed(2)} if it runs to its ${cost.max_minutes}-minute timeout`;
  return {
    project: check.name,
    region: check.region,
    compute_type: cost.compute_type,
    environment_type: cost.environment_type,
    estimate,
    source: cost.source,
  };
}

/** The user declined: nothing was uploaded and nothing started. */
export function chargesDeclined(question: ChargeQuestion): BuildRefusal {
  return {
    refused: true,
    mode: 'codebuild',
    message: `The CodeBuild charges were declined (${question.estimate}; project ${question.project}, ${question.region}): nothing was uploaded and no build started.`,
    nextSteps: [
      'Start Docker here to build locally for free, or call build_image again and accept the charges (or pass confirm_charges: true once the user has agreed).',
    ],
  };
}
