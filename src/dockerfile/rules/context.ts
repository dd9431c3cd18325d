import { companionFor, cudaToVariant, parseVersion } from '../../compat/index.js';
import type { ImageFacts } from '../images.js';
import type { Stage } from '../model.js';
import type { Position } from '../text.js';
import type { RuleContext, RuleRun, StageState } from './types.js';

/** The shared state of one analysis: the model, the findings so far and each simulated stage's state. */
export function createRun(context: RuleContext): RuleRun {
  const findings: RuleRun['findings'] = [];
  return {
    model: context.model,
    targetGpu: context.targetGpu,
    ...(context.platformFacts ? { platformFacts: context.platformFacts } : {}),
    dockerfile: context.model.dockerfilePath,
    states: new Map(),
    findings,
    add: (finding) => findings.push(finding),
  };
}

/** A stage's state at its FROM: a copy of its parent stage's, or what the base image's tag says. */
export function stageStart(run: RuleRun, stage: Stage): StageState {
  return stage.parent
    ? cloneState(run.states.get(stage.parent) ?? initialState(stage, null, run.dockerfile))
    : initialState(stage, stage.facts, run.dockerfile);
}

function cloneState(state: StageState): StageState {
  return { ...state, pkgs: new Map(state.pkgs), python: state.python, cuda: state.cuda };
}

function initialState(stage: Stage, facts: ImageFacts | null, dockerfile: string): StageState {
  const state: StageState = { pkgs: new Map(), python: null, cuda: null, hasCuda: null, pythonProvided: false };
  if (!facts) return state;
  const where = `base image ${facts.ref}`;
  const position: Position = { file: dockerfile, line: stage.line, column: 1 };
  state.hasCuda = facts.hasCuda;
  if (facts.cuda) state.cuda = { version: facts.cuda, how: `${where} tag` };
  if (facts.python) state.python = { version: facts.python, how: `${where} tag`, position: null };
  state.pythonProvided = !['nvidia-cuda', 'ubuntu', 'debian'].includes(facts.family);
  if (facts.hasTorch) {
    const parsed = facts.torchVersion ? parseVersion(facts.torchVersion) : null;
    const exact = parsed && parsed.release.length >= 3 ? parsed.base : null;
    const variant =
      facts.family === 'pytorch' || facts.family === 'aws-dlc'
        ? facts.hasCuda === false
          ? 'cpu'
          : facts.cuda
            ? cudaToVariant(facts.cuda)
            : null
        : null;
    state.pkgs.set('torch', {
      pkg: 'torch',
      exact,
      minor: parsed?.minor ?? null,
      local: null,
      variant,
      variantHow: variant ? `${where} tag` : null,
      origin: 'base',
      unpinned: false,
      vendor: facts.family === 'ngc-pytorch',
      position,
      how: facts.family === 'ngc-pytorch' ? `${where} (NVIDIA build, version not in the tag)` : where,
    });
    if (facts.hasCompanions) {
      for (const pkg of ['torchvision', 'torchaudio'] as const) {
        if (facts.family === 'ngc-pytorch' && pkg === 'torchaudio') continue;
        const expectation = exact ? companionFor(exact, pkg) : undefined;
        state.pkgs.set(pkg, {
          pkg,
          exact: expectation?.exact ?? null,
          minor: expectation?.minor ?? null,
          local: null,
          variant,
          variantHow: variant ? `${where} tag` : null,
          origin: 'base',
          unpinned: false,
          vendor: facts.family === 'ngc-pytorch',
          position,
          how: where,
        });
      }
    }
  }
  return state;
}
