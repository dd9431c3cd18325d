import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import type { LocalBuilderKind } from './build-args.js';

/** One step the builder will print, tied to its Dockerfile instruction. */
export interface PlannedStep {
  /** 1-based position in the whole build: the key used by build events. */
  number: number;
  /** Upper-case instruction keyword, e.g. `RUN`. */
  keyword: string;
  /** The instruction with line continuations joined, as the builders print it. */
  instruction: string;
  /** 1-based first and last Dockerfile line of the instruction; absent for the legacy builder's `--label` step. */
  dockerfileLine?: number;
  endLine?: number;
  /** BuildKit: the stage name it prints (`builder`, `stage-1`, or '' for a single-stage Dockerfile). */
  stage?: string;
  /** BuildKit: the `i` of `[stage i/n]`. */
  indexInStage?: number;
  /** For FROM steps: the base image normalised as BuildKit prints it (`docker.io/library/python:3.11`). */
  image?: string;
}

export interface BuildPlan {
  builder: LocalBuilderKind;
  steps: PlannedStep[];
  totalSteps: number;
}

export interface PlanOptions {
  builder: LocalBuilderKind;
  target?: string;
  /** Values that override ARG defaults when resolving base image names. */
  buildArgs?: Record<string, string>;
  /** The legacy builder appends one LABEL step when `--label` is given. */
  hasLabels?: boolean;
  /**
   * BuildKit: plan every stage, not just those the target needs. For mapping the steps of a stored log whose
   * target is unknown; the total then overstates what BuildKit runs.
   */
  allStages?: boolean;
}

interface Stage {
  index: number;
  /** Lower-case `AS` name, as both builders match stage names case-insensitively. */
  name?: string;
  from: Instruction;
  baseName: string;
  commands: Instruction[];
}

/** Docker's shorthand image names as the registry sees them: `python:3.11` -> `docker.io/library/python:3.11`. */
export function normalizeImageName(image: string): string {
  let name = image;
  let suffix = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    suffix = name.slice(at);
    name = name.slice(0, at);
  }
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > lastSlash) {
    suffix = name.slice(colon) + suffix;
    name = name.slice(0, colon);
  } else if (suffix === '') {
    suffix = ':latest';
  }
  const firstSlash = name.indexOf('/');
  const first = firstSlash >= 0 ? name.slice(0, firstSlash) : '';
  const hasDomain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasDomain) name = firstSlash >= 0 ? `docker.io/${name}` : `docker.io/library/${name}`;
  return `${name}${suffix}`;
}

function substituteVariables(text: string, values: Map<string, string>): string {
  const pattern = /\$\{([A-Za-z_]\w*)(?:(:[-+])([^}]*))?\}|\$([A-Za-z_]\w*)/g;
  return text.replace(pattern, (_match, braced?: string, operator?: string, word?: string, bare?: string) => {
    const value = values.get(braced ?? bare ?? '') ?? '';
    if (operator === ':-') return value !== '' ? value : (word ?? '');
    if (operator === ':+') return value !== '' ? (word ?? '') : '';
    return value;
  });
}

function argDefault(instruction: Instruction): [string, string | undefined] | undefined {
  const content = instruction.getArgumentsContent()?.trim();
  if (!content) return undefined;
  const equals = content.indexOf('=');
  if (equals < 0) return [content, undefined];
  return [content.slice(0, equals), content.slice(equals + 1).replace(/^["']|["']$/g, '')];
}

/**
 * The instruction as the builders print it: flags kept (dockerfile-ast's argument accessors drop them),
 * line continuations joined and comment lines inside them dropped.
 */
function instructionText(instruction: Instruction, escapeChar: string): string {
  const lines = instruction.getTextContent().split(/\r?\n/);
  const kept = lines.filter((line, index) => index === 0 || !/^\s*#/.test(line));
  const escape = escapeChar.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  return kept
    .join('\n')
    .replace(new RegExp(`${escape}[ \\t]*\\n`, 'g'), '')
    .trim();
}

function parseStages(dockerfileText: string, buildArgs: Record<string, string>) {
  const dockerfile = DockerfileParser.parse(dockerfileText);
  const escapeChar = dockerfile.getEscapeCharacter();
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  const argValues = new Map<string, string>();
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword().toUpperCase();
    if (keyword === 'FROM') {
      const words = (instruction.getArgumentsContent() ?? '').split(/\s+/).filter((word) => !word.startsWith('--'));
      const asIndex = words.findIndex((word) => word.toLowerCase() === 'as');
      const name = asIndex >= 0 ? words[asIndex + 1]?.toLowerCase() : undefined;
      stages.push({
        index: stages.length,
        name,
        from: instruction,
        baseName: substituteVariables(words[0] ?? '', argValues),
        commands: [],
      });
    } else if (stages.length === 0) {
      globalArgs.push(instruction);
      const parsed = keyword === 'ARG' ? argDefault(instruction) : undefined;
      if (parsed) argValues.set(parsed[0], buildArgs[parsed[0]] ?? parsed[1] ?? '');
    } else {
      stages[stages.length - 1]!.commands.push(instruction);
    }
  }
  return { globalArgs, stages, escapeChar };
}

function findStage(stages: Stage[], reference: string, before: number): Stage | undefined {
  const lower = reference.toLowerCase();
  if (/^\d+$/.test(lower)) {
    const index = Number(lower);
    return index < before ? stages[index] : undefined;
  }
  return stages.slice(0, before).find((stage) => stage.name === lower);
}

/** Stages the target needs: BuildKit builds only these (through FROM, COPY --from and RUN --mount from=). */
function reachableStages(stages: Stage[], target: Stage): Set<Stage> {
  const reachable = new Set<Stage>();
  const visit = (stage: Stage) => {
    if (reachable.has(stage)) return;
    reachable.add(stage);
    const base = findStage(stages, stage.baseName, stage.index);
    if (base) visit(base);
    for (const command of stage.commands) {
      const args = command.getTextContent();
      const references = [...args.matchAll(/--from=(\S+)/g), ...args.matchAll(/--mount=\S*?\bfrom=([^,\s]+)/g)];
      for (const reference of references) {
        // COPY --from may name any stage of the file, even a later one.
        const source = findStage(stages, reference[1]!, stages.length);
        if (source && source !== stage) visit(source);
      }
    }
  };
  visit(target);
  return reachable;
}

function lineRange(instruction: Instruction): { dockerfileLine: number; endLine: number } {
  const range = instruction.getRange();
  return { dockerfileLine: range.start.line + 1, endLine: range.end.line + 1 };
}

const BUILDKIT_COUNTED = new Set(['ADD', 'COPY', 'RUN', 'WORKDIR']);

/**
 * The steps a builder prints for this Dockerfile, so a printed step (`Step 4/9`, `[builder 2/3]`) maps back to
 * its Dockerfile line. The legacy builder numbers every instruction of every stage up to the target, global
 * ARGs included; BuildKit numbers, per reachable stage, the FROM of an image plus each ADD/COPY/RUN/WORKDIR.
 */
export function planBuildSteps(dockerfileText: string, options: PlanOptions): BuildPlan {
  const { globalArgs, stages, escapeChar } = parseStages(dockerfileText, options.buildArgs ?? {});
  const targetIndex =
    options.target === undefined
      ? stages.length - 1
      : stages.findIndex((stage) => stage.name === options.target!.toLowerCase());
  const steps: PlannedStep[] = [];
  const add = (step: Omit<PlannedStep, 'number'>) => steps.push({ number: steps.length + 1, ...step });

  if (options.builder === 'legacy') {
    const built = targetIndex >= 0 ? stages.slice(0, targetIndex + 1) : stages;
    const instructions = [...globalArgs, ...built.flatMap((stage) => [stage.from, ...stage.commands])];
    for (const instruction of instructions) {
      const keyword = instruction.getKeyword().toUpperCase();
      const image = keyword === 'FROM' ? stages.find((stage) => stage.from === instruction)?.baseName : undefined;
      add({
        keyword,
        instruction: instructionText(instruction, escapeChar),
        ...lineRange(instruction),
        ...(image ? { image: normalizeImageName(image) } : {}),
      });
    }
    if (options.hasLabels === true && built.length > 0) add({ keyword: 'LABEL', instruction: 'LABEL (from --label)' });
    return { builder: 'legacy', steps, totalSteps: steps.length };
  }

  const target = stages[targetIndex];
  if (!target) return { builder: 'buildkit', steps, totalSteps: 0 };
  const reachable = options.allStages === true ? new Set(stages) : reachableStages(stages, target);
  const copiesFromImages = stages.some((stage) =>
    stage.commands.some((command) => {
      const from = /--from=(\S+)/.exec(command.getTextContent())?.[1];
      return from !== undefined && findStage(stages, from, stages.length) === undefined;
    }),
  );
  // BuildKit drops the stage prefix when the build has a single state (an image named by COPY --from is one).
  const singleState = stages.length === 1 && !copiesFromImages;
  for (const stage of stages) {
    if (!reachable.has(stage)) continue;
    const stageName = singleState ? '' : (stage.name ?? `stage-${stage.index}`);
    let indexInStage = 0;
    const baseIsStage = findStage(stages, stage.baseName, stage.index) !== undefined;
    if (stage.baseName.toLowerCase() !== 'scratch' && !baseIsStage) {
      const image = normalizeImageName(stage.baseName);
      add({
        keyword: 'FROM',
        instruction: `FROM ${image}`,
        ...lineRange(stage.from),
        stage: stageName,
        indexInStage: ++indexInStage,
        image,
      });
    }
    for (const command of stage.commands) {
      const keyword = command.getKeyword().toUpperCase();
      if (!BUILDKIT_COUNTED.has(keyword)) continue;
      add({
        keyword,
        instruction: instructionText(command, escapeChar),
        ...lineRange(command),
        stage: stageName,
        indexInStage: ++indexInStage,
      });
    }
  }
  return { builder: 'buildkit', steps, totalSteps: steps.length };
}
