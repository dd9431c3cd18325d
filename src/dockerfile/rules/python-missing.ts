import { rootStage } from './support.js';
import type { DockerfileRule } from './types.js';

/** python-missing: pip or uv on a base image without Python, before anything in the stage installs one (once per stage). */
export const pythonMissingRule: DockerfileRule = {
  name: 'python-missing',
  checkInstall: ({ run, stage, state, install, firstInStage }) => {
    if (install.tool === 'conda' || state.pythonProvided) return;
    const facts = rootStage(stage).facts;
    if (!facts || !['nvidia-cuda', 'ubuntu', 'debian'].includes(facts.family)) return;
    if (!firstInStage('python-missing')) return;
    run.add({
      category: 'python-missing',
      severity: 'warning',
      position: install.position,
      message: `${install.tool} runs here, but nothing earlier in this stage installs Python or pip, and ${facts.ref} ships without them. The RUN fails with "${install.tool === 'uv' ? 'uv' : 'pip'}: not found" (exit code 127).`,
      evidence: [
        `base image ${facts.ref} (${facts.family}); no apt-get install python3-pip, conda, get-pip.py or COPY of a Python before line ${install.position.line}`,
      ],
      fix: {
        description:
          'Install Python and pip first, e.g. `RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip`.',
        edits: [],
        alternatives: ['start from an image that has Python (pytorch/pytorch, a python:3.x image) instead'],
      },
    });
  },
};
