import type { DockerfileRule, RuleRun } from './types.js';

/** requirements-file-missing: a requirements file the build copies in that the context lacks. */
export const requirementsMissingRule: DockerfileRule = {
  name: 'requirements-file-missing',
  checkFinal: checkMissingFiles,
};

function checkMissingFiles(run: RuleRun): void {
  const { model } = run;

  for (const missing of model.missingFiles) {
    run.add({
      category: 'requirements-file-missing',
      severity: 'warning',
      position: missing.position,
      message: `The build reads ${missing.imagePath}, which is copied from ${missing.contextPath} in the build context, but that file does not exist: the COPY fails with "failed to compute cache key: ... not found" before anything is installed.`,
      evidence: [`${missing.contextPath} not found in the build context`],
    });
  }
}
