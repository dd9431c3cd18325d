import { firstTorchForPython, pythonSupport, torchRelease } from '../../compat/index.js';
import type { InstallCommand, Stage } from '../model.js';
import { pythonEdits } from './edits.js';
import type { Resolved } from './resolve.js';
import { cudaMinorish } from './support.js';
import type { DockerfileRule, RuleRun, StageState } from './types.js';

/** python-unsupported: a torch release (or wheel) without builds for the image's Python. */
export const pythonSupportRule: DockerfileRule = {
  name: 'python-unsupported',
  checkResolved: ({ run, install, resolved, state, stage }) => checkPython(run, install, resolved, state, stage),
};

function checkPython(
  run: RuleRun,
  install: InstallCommand,
  resolved: Resolved[],
  state: StageState,
  stage: Stage,
): void {
  const python = install.pythonHint
    ? { version: install.pythonHint, how: `${install.tool} run by python${install.pythonHint}`, position: null }
    : state.python;
  for (const item of resolved) {
    if (item.pkg !== 'torch') continue;
    const wheelPython = item.request.req.wheelPython;
    if (wheelPython && python) {
      const wheelVersion = /^cp(\d)(\d+)$/.exec(wheelPython);
      if (wheelVersion && `${wheelVersion[1]}.${wheelVersion[2]}` !== cudaMinorish(python.version)) {
        run.add({
          category: 'python-unsupported',
          severity: 'error',
          position: item.request.position,
          message: `The torch wheel is for Python ${wheelVersion[1]}.${wheelVersion[2]} (${wheelPython}) but the image's Python is ${python.version} (${python.how}); pip refuses it: "is not a supported wheel on this platform".`,
          evidence: [`wheel tag ${wheelPython}`, `python: ${python.how}`],
        });
      }
      continue;
    }
    if (!item.torchMinor || !python || item.dev) continue;
    const pythonMinor = cudaMinorish(python.version);
    const support = pythonSupport(item.torchMinor, pythonMinor);
    if (support !== 'unsupported' && support !== 'experimental') continue;
    const release = torchRelease(item.torchMinor)!;
    const firstTorch = firstTorchForPython(pythonMinor, item.torchMinor);
    const alternatives = firstTorch
      ? [`keep Python ${pythonMinor}: torch ${firstTorch} is the first release with wheels for it`]
      : [];
    const edits = support === 'unsupported' ? pythonEdits(stage, release.python.max, python) : [];
    run.add({
      category: 'python-unsupported',
      severity: support === 'unsupported' ? 'error' : 'warning',
      position: item.request.position,
      message:
        support === 'unsupported'
          ? `torch ${item.torchMinor} has wheels for Python ${release.python.min}-${release.python.max} only, and this image's Python is ${python.version} (${python.how}): pip fails with "No matching distribution found for torch${item.request.req.spec}".`
          : `torch ${item.torchMinor} supports Python ${pythonMinor} only experimentally (${release.python.note ?? release.python.source}).`,
      evidence: [
        `torch ${item.torchMinor}: Python ${release.python.min}-${release.python.max} (${release.python.source}${release.python.note ? `; ${release.python.note}` : ''})`,
        `python: ${python.how}`,
      ],
      fix:
        support === 'unsupported'
          ? {
              description:
                edits.length > 0
                  ? `Use Python ${release.python.max}, the newest Python torch ${item.torchMinor} supports.`
                  : `Use a Python between ${release.python.min} and ${release.python.max}.`,
              edits,
              alternatives,
            }
          : undefined,
    });
  }
}
