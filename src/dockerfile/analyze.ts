import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { driverMinFor, parseGpuTarget, type ParsedGpu } from '../compat/index.js';
import { ContextWriteError, writeIntoContext } from '../util/context-write.js';
import { contextPathSync, isInside, outsideContextError } from '../util/context-path.js';
import { ExpectedFailure, InputError } from '../util/errors.js';
import { parsePlatforms } from '../util/platforms.js';
import { quoted } from '../util/quoted.js';
import { applyTextEdits, unifiedDiff, type TextEdit } from '../util/text-edits.js';
import { buildModel, type Model, type Stage } from './model.js';
import { runRules, type Edit, type RawFinding, type StageState } from './rules/index.js';
import type { AnalysisResult, Finding, PackageInfo, Stack } from './schema.js';
import { SourceSet, UNRESOLVED } from './text.js';

export interface AnalyzeSourcesOptions {
  /** Path of the Dockerfile relative to the build context; default 'Dockerfile'. */
  dockerfilePath?: string;
  dockerfileText: string;
  /** Reads a build-context file (relative path, forward slashes); undefined when it does not exist. */
  readContextFile?: (relPath: string) => string | undefined;
  buildArgs?: Record<string, string>;
  /** 'sm_120', '9.0', 'H100', 'NVIDIA GeForce RTX 5090'... */
  targetGpu?: string;
  /** Replaces the base image of the final stage (the seed's --base-image). */
  baseImage?: string;
  fix?: boolean;
  /** The build's platforms (`os/arch[/variant]`); the platform guard checks base images against them. */
  platforms?: string[];
  /** Platforms of base images present locally (`docker image inspect`): reference -> os/arch[/variant]. */
  localImagePlatforms?: Record<string, string>;
}

export interface AnalyzeOptions {
  /** Build context directory, absolute or relative to the current directory. */
  context: string;
  /** Dockerfile relative to the context; default 'Dockerfile'. */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  targetGpu?: string;
  baseImage?: string;
  fix?: boolean;
  /** The build's platforms: one, a comma list, or a list (see AnalyzeSourcesOptions). */
  platforms?: string | string[];
  /**
   * Looks up the platform of base images present locally (docker image inspect); asked only when platforms are
   * given, for the images the Dockerfile names. Absent: the guard knows only FROM --platform.
   */
  inspectImagePlatforms?: (refs: string[]) => Promise<Record<string, string>>;
  /** Write fixed files back (atomically, with a .bak backup). Implies fix. */
  write?: boolean;
  /** With `write`: also write files that have no write permission. */
  forceWrite?: boolean;
}

const MAX_FINDINGS = 200;
const MAX_NOTES = 50;
const MAX_FIX_PASSES = 3;
const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

interface Pass {
  model: Model;
  raw: RawFinding[];
  findings: Finding[];
  states: Map<Stage, StageState>;
}

function validate(options: AnalyzeSourcesOptions): ParsedGpu | undefined {
  if (options.buildArgs !== undefined) {
    if (typeof options.buildArgs !== 'object' || options.buildArgs === null || Array.isArray(options.buildArgs)) {
      throw new InputError('build_args', 'must be an object of NAME: value strings', 'e.g. {"CUDA_VERSION": "12.1.1"}');
    }
    for (const [name, value] of Object.entries(options.buildArgs)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new InputError(
          'build_args',
          `"${name}" is not a valid ARG name`,
          'ARG names are letters, digits and underscores',
        );
      }
      if (typeof value !== 'string') {
        throw new InputError(
          'build_args',
          `the value of ${name} must be a string`,
          'pass every build arg as a string, e.g. "2.7.1"',
        );
      }
    }
  }
  if (options.baseImage !== undefined && (options.baseImage.trim() === '' || /\s/.test(options.baseImage.trim()))) {
    throw new InputError(
      'base_image',
      `"${options.baseImage}" is not an image reference`,
      'e.g. nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04',
    );
  }
  if (options.targetGpu === undefined || options.targetGpu.trim() === '') return undefined;
  const gpu = parseGpuTarget(options.targetGpu);
  if (!gpu) {
    throw new InputError(
      'target_gpu',
      `"${options.targetGpu}" is not a GPU architecture or model this tool knows`,
      'use sm_XY (e.g. sm_90, sm_120), a compute capability (e.g. 8.6) or a model name such as H100, A100, L4, B200, RTX 5090',
    );
  }
  return gpu;
}

/** The automatic TARGET* build args of one platform, as BuildKit sets them (`linux/arm/v7` -> TARGETVARIANT=v7). */
function targetArgs(platform: string): Record<string, string> {
  const [os = '', arch = '', variant = ''] = platform.split('/');
  return { TARGETPLATFORM: platform, TARGETOS: os, TARGETARCH: arch, TARGETVARIANT: variant };
}

interface PlatformInput {
  platforms: string[];
  localImages: Record<string, string>;
}

/** Build args for a platform, unless the caller set TARGETPLATFORM (then theirs stand). */
function argsFor(buildArgs: Record<string, string> | undefined, platform: string | undefined) {
  if (platform === undefined || buildArgs?.TARGETPLATFORM !== undefined) return buildArgs;
  return { ...targetArgs(platform), ...buildArgs };
}

function runOnce(
  dockerfilePath: string,
  dockerfileText: string,
  readContextFile: ((relPath: string) => string | undefined) | undefined,
  buildArgs: Record<string, string> | undefined,
  targetGpu: ParsedGpu | undefined,
  platformInput: PlatformInput = { platforms: [], localImages: {} },
): Pass {
  const { platforms, localImages } = platformInput;
  const model = buildModel({
    dockerfilePath,
    dockerfileText,
    readContextFile,
    buildArgs: argsFor(buildArgs, platforms[0]),
  });
  const models = new Map([[platforms[0] ?? model.platform, model]]);
  // Each further platform sees its own FROM lines (FROM base-${TARGETARCH}); only the stages are read from these.
  for (const platform of platforms.slice(1)) {
    models.set(platform, buildModel({ dockerfilePath, dockerfileText, buildArgs: argsFor(buildArgs, platform) }));
  }
  const platformFacts = {
    platforms: platforms.length > 0 ? platforms : [model.platform],
    explicit: platforms.length > 0,
    models,
    localImages,
  };
  const { findings: raw, states } = runRules({ model, targetGpu, platformFacts });
  raw.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (a.position.file === b.position.file
        ? 0
        : a.position.file === dockerfilePath
          ? -1
          : b.position.file === dockerfilePath
            ? 1
            : a.position.file.localeCompare(b.position.file)) ||
      a.position.line - b.position.line,
  );
  return { model, raw, findings: raw.map((finding) => toFinding(finding, model.sources, dockerfilePath)), states };
}

/** Shows text we could not resolve as <unresolved> instead of the internal marker character. */
function readable(text: string): string {
  return text.replaceAll(UNRESOLVED, '<unresolved>');
}

function toTextEdit(edit: Edit, sources: SourceSet): TextEdit {
  const file = sources.file(edit.span.file);
  const start = sources.lineColumnOf(edit.span.file, edit.span.start);
  const end = sources.lineColumnOf(edit.span.file, edit.span.end);
  return {
    file: file.path,
    startLine: start.line,
    startColumn: start.column,
    endLine: end.line,
    endColumn: end.column,
    newText: edit.text,
  };
}

function toFinding(finding: RawFinding, sources: SourceSet, dockerfilePath: string): Finding {
  const out: Finding = {
    category: finding.category,
    severity: finding.severity,
    file: finding.position.file || dockerfilePath,
    line: finding.position.line,
    column: finding.position.column,
    message: readable(finding.message),
    evidence: finding.evidence.map(readable),
  };
  if (finding.fix) {
    out.fix = { description: finding.fix.description };
    if (finding.fix.edits.length > 0) {
      out.fix.edits = finding.fix.edits.map((edit) => {
        const text = toTextEdit(edit, sources);
        return {
          file: text.file,
          start_line: text.startLine,
          start_column: text.startColumn,
          end_line: text.endLine,
          end_column: text.endColumn,
          new_text: text.newText,
        };
      });
    }
    if (finding.fix.alternatives.length > 0) out.fix.alternatives = finding.fix.alternatives;
  }
  return out;
}

function packageInfo(state: StageState, pkg: 'torch' | 'torchvision' | 'torchaudio'): PackageInfo | null {
  const value = state.pkgs.get(pkg);
  if (!value) return null;
  const info: PackageInfo = {
    version: value.exact ?? (value.minor ? `${value.minor}.x` : null),
    cuda_variant: value.variant,
    variant_source: value.variantHow,
    source: value.how,
    pinned: !value.unpinned,
  };
  if (value.origin === 'install' && value.request) {
    info.file = value.request.position.file;
    info.line = value.request.position.line;
  }
  return info;
}

function buildStack(
  pass: Pass,
  gpu: ParsedGpu | undefined,
  targetGpuInput: string | undefined,
  overriddenFrom: string | undefined,
): Stack {
  const { model, states } = pass;
  const final = model.stages[model.stages.length - 1];
  let root = final;
  while (root?.parent) root = root.parent;
  const state = final ? states.get(final) : undefined;
  const torch = state ? packageInfo(state, 'torch') : null;
  const driver = torch?.cuda_variant?.startsWith('cu') ? driverMinFor(torch.cuda_variant) : undefined;
  const cudnn = root?.facts?.cudnn ?? null;
  return {
    final_stage: final ? { index: final.index, name: final.name, line: final.line } : null,
    platform: model.platform,
    stages: model.stages.map((stage) => ({
      index: stage.index,
      name: stage.name,
      line: stage.line,
      base: readable(stage.image.text),
      from_stage: stage.parent ? (stage.parent.name ?? String(stage.parent.index)) : null,
    })),
    base_image: root
      ? {
          image: root.image.text.includes(UNRESOLVED) || root.image.text === '' ? null : root.image.text,
          as_written: root.imageRaw,
          line: root.line,
          family: root.facts?.family ?? 'unresolved',
          ...(overriddenFrom !== undefined ? { overridden_from: overriddenFrom } : {}),
          unresolved_args: root.unresolvedArgs,
        }
      : null,
    cuda: state?.cuda ? { version: state.cuda.version, source: state.cuda.how } : null,
    cudnn: cudnn && root?.facts ? { version: cudnn, source: `base image ${root.facts.ref} tag` } : null,
    python: state?.python ? { version: state.python.version, source: state.python.how } : null,
    torch,
    torchvision: state ? packageInfo(state, 'torchvision') : null,
    torchaudio: state ? packageInfo(state, 'torchaudio') : null,
    driver_min: driver ? { cuda: driver.cuda, linux_driver: driver.driver } : null,
    target_gpu: gpu && targetGpuInput ? { input: targetGpuInput, compute_capability: gpu.capability } : null,
  };
}

/** Replaces the base image of the final stage (following FROM <stage> back to the external image). */
function overrideBaseImage(
  dockerfilePath: string,
  text: string,
  baseImage: string,
): { text: string; original: string } {
  const model = buildModel({ dockerfilePath, dockerfileText: text });
  let stage = model.stages[model.stages.length - 1];
  if (!stage) throw new InputError('base_image', 'the Dockerfile has no FROM instruction', 'add a FROM line first');
  while (stage.parent) stage = stage.parent;
  const span = stage.imageSpan;
  if (!span)
    throw new InputError('base_image', `the FROM on line ${stage.line} has no image`, 'fix the FROM line first');
  return {
    text: text.slice(0, span.start) + baseImage + text.slice(span.end),
    original: text.slice(span.start, span.end),
  };
}

interface Overlap {
  file: number;
  start: number;
  end: number;
}

function overlaps(a: Overlap, b: Overlap): boolean {
  if (a.file !== b.file) return false;
  if (a.start === a.end && b.start === b.end) return false; // two insertions at the same point are merged
  if (a.start === a.end) return a.start > b.start && a.start < b.end;
  if (b.start === b.end) return b.start > a.start && b.start < a.end;
  return a.start < b.end && b.start < a.end;
}

/**
 * Analyses a Dockerfile held in memory. Never touches the disk: requirement files are read through
 * `readContextFile`, and with `fix` the fixed texts come back in `fixed.files`.
 */
export function analyzeSources(options: AnalyzeSourcesOptions): AnalysisResult {
  const gpu = validate(options);
  const dockerfilePath = (options.dockerfilePath ?? 'Dockerfile').replace(/\\/g, '/');
  let dockerfileText = options.dockerfileText;
  let overriddenFrom: string | undefined;
  if (options.baseImage !== undefined) {
    const override = overrideBaseImage(dockerfilePath, dockerfileText, options.baseImage.trim());
    dockerfileText = override.text;
    overriddenFrom = override.original;
  }
  const originals = new Map<string, string>([[dockerfilePath, options.dockerfileText]]);
  const current = new Map<string, string>([[dockerfilePath, dockerfileText]]);
  const read = (relPath: string): string | undefined => {
    if (current.has(relPath)) return current.get(relPath);
    const value = options.readContextFile?.(relPath);
    if (value !== undefined) {
      originals.set(relPath, value);
      current.set(relPath, value);
    }
    return value;
  };
  const platformInput: PlatformInput = {
    platforms: options.platforms ?? [],
    localImages: options.localImagePlatforms ?? {},
  };
  let pass = runOnce(dockerfilePath, dockerfileText, read, options.buildArgs, gpu, platformInput);
  const first = pass;
  const result: AnalysisResult = {
    dockerfile: dockerfilePath,
    findings: first.findings.slice(0, MAX_FINDINGS),
    summary: {
      errors: first.findings.filter((finding) => finding.severity === 'error').length,
      warnings: first.findings.filter((finding) => finding.severity === 'warning').length,
      infos: first.findings.filter((finding) => finding.severity === 'info').length,
      truncated: first.findings.length > MAX_FINDINGS,
    },
    stack: buildStack(first, gpu, options.targetGpu, overriddenFrom),
    notes: [...new Set(first.model.notes.map(readable))].slice(0, MAX_NOTES),
  };
  if (!options.fix) return result;

  const applied: NonNullable<AnalysisResult['fixed']>['applied'] = [];
  const alternatives = new Set<string>();
  for (let round = 0; round < MAX_FIX_PASSES; round++) {
    const chosen: Array<{ edit: Edit; order: number }> = [];
    let order = 0;
    for (const finding of pass.raw) {
      const edits = finding.fix?.edits ?? [];
      if (edits.length === 0) continue;
      const fresh = edits.filter(
        (edit) =>
          !chosen.some(
            (taken) =>
              taken.edit.span.file === edit.span.file &&
              taken.edit.span.start === edit.span.start &&
              taken.edit.span.end === edit.span.end &&
              taken.edit.text === edit.text,
          ),
      );
      if (fresh.some((edit) => chosen.some((taken) => overlaps(taken.edit.span, edit.span)))) continue;
      for (const edit of fresh) chosen.push({ edit, order: order++ });
      applied.push({
        category: finding.category,
        file: finding.position.file,
        line: finding.position.line,
        description: finding.fix!.description,
      });
      for (const alternative of finding.fix!.alternatives) alternatives.add(`${finding.category}: ${alternative}`);
    }
    if (chosen.length === 0) break;
    const byFile = new Map<number, Array<{ edit: Edit; order: number }>>();
    for (const item of chosen) byFile.set(item.edit.span.file, [...(byFile.get(item.edit.span.file) ?? []), item]);
    let changed = false;
    for (const [fileIndex, items] of byFile) {
      const file = pass.model.sources.file(fileIndex);
      // merge insertions at the same point, keeping the order the fixes were chosen in
      const merged = new Map<string, { edit: Edit; order: number }>();
      for (const item of [...items].sort((a, b) => a.order - b.order)) {
        const key = `${item.edit.span.start}:${item.edit.span.end}`;
        const existing = merged.get(key);
        if (existing && item.edit.span.start === item.edit.span.end) {
          existing.edit = { span: existing.edit.span, text: existing.edit.text + item.edit.text };
        } else if (!existing) merged.set(key, { edit: { ...item.edit }, order: item.order });
      }
      const textEdits = [...merged.values()].map((item) => toTextEdit(item.edit, pass.model.sources));
      const next = applyTextEdits(file.text, textEdits);
      if (next !== file.text) {
        current.set(file.path, next);
        changed = true;
      }
    }
    if (!changed) break;
    pass = runOnce(dockerfilePath, current.get(dockerfilePath)!, read, options.buildArgs, gpu, platformInput);
  }
  const files: NonNullable<AnalysisResult['fixed']>['files'] = [];
  for (const [file, text] of current) {
    const original = originals.get(file);
    if (original === undefined || original === text) continue;
    files.push({ file, new_text: text, diff: unifiedDiff(file, original, text) });
  }
  result.fixed = {
    files,
    applied,
    remaining_findings: pass.findings.slice(0, MAX_FINDINGS),
    alternatives: [...alternatives],
  };
  return result;
}

const insideContext = isInside;

/** The external base images the Dockerfile names for any of the platforms (after build args and base_image). */
function baseImageRefs(
  dockerfilePath: string,
  dockerfileText: string,
  options: Pick<AnalyzeOptions, 'buildArgs' | 'baseImage'>,
  platforms: string[],
): string[] {
  const text = options.baseImage
    ? overrideBaseImage(dockerfilePath, dockerfileText, options.baseImage.trim()).text
    : dockerfileText;
  const refs = new Set<string>();
  for (const platform of platforms) {
    const model = buildModel({ dockerfilePath, dockerfileText: text, buildArgs: argsFor(options.buildArgs, platform) });
    for (const stage of model.stages) {
      if (!stage.parent && stage.image.text !== '' && !stage.image.text.includes(UNRESOLVED))
        refs.add(stage.image.text);
    }
  }
  return [...refs].filter((ref) => ref.toLowerCase() !== 'scratch');
}

/**
 * Analyses `dockerfile` in the build context `context`, reading the requirement files it copies in. Read-only
 * unless `write` is set; then the fixed files are written atomically, each after a backup copy.
 */
export async function analyzeDockerfile(options: AnalyzeOptions): Promise<AnalysisResult> {
  if (typeof options.context !== 'string' || options.context.trim() === '') {
    throw new InputError('context', 'is required', 'pass the build context directory, e.g. "." or "./FSDP"');
  }
  const context = path.resolve(options.context);
  let contextReal: string;
  try {
    if (!statSync(context).isDirectory()) throw new Error('not a directory');
    contextReal = realpathSync(context);
  } catch {
    throw new InputError(
      'context',
      `${quoted(context, 200)} is not a directory`,
      'pass the directory you would give to `docker build`',
    );
  }
  const dockerfile = (options.dockerfile ?? 'Dockerfile').replace(/\\/g, '/');
  const dockerfileAbs = path.resolve(context, dockerfile);
  if (!insideContext(context, dockerfileAbs)) {
    throw new InputError(
      'dockerfile',
      `${quoted(dockerfile, 200)} is outside the build context ${quoted(context, 200)}`,
      'pass the Dockerfile path relative to the context, inside it',
    );
  }
  let dockerfileText: string;
  const resolved = contextPathSync(context, dockerfile);
  if (!resolved.ok && resolved.reason === 'outside') throw outsideContextError('dockerfile', dockerfile, resolved.real);
  try {
    if (!resolved.ok) throw new Error('missing');
    dockerfileText = readFileSync(resolved.real, 'utf8');
  } catch {
    throw new InputError(
      'dockerfile',
      `no Dockerfile at ${quoted(dockerfileAbs, 200)}`,
      'pass `dockerfile` relative to `context` (default "Dockerfile")',
    );
  }
  const dockerfileRel = path.relative(context, dockerfileAbs).split(path.sep).join('/');
  const readContextFile = (relPath: string): string | undefined => {
    if (relPath.startsWith('/') || relPath.split('/').includes('..')) return undefined;
    const resolved = contextPathSync(contextReal, relPath);
    if (!resolved.ok) return undefined;
    try {
      const stat = statSync(resolved.real);
      if (!stat.isFile() || stat.size > 4 * 1024 * 1024) return undefined;
      return readFileSync(resolved.real, 'utf8');
    } catch {
      return undefined;
    }
  };
  const fix = options.fix === true || options.write === true;
  const platforms = parsePlatforms(options.platforms);
  const localImagePlatforms =
    platforms.length > 0 && options.inspectImagePlatforms
      ? await options.inspectImagePlatforms(baseImageRefs(dockerfileRel, dockerfileText, options, platforms))
      : {};
  const result = analyzeSources({
    platforms,
    localImagePlatforms,
    dockerfilePath: dockerfileRel,
    dockerfileText,
    readContextFile,
    buildArgs: options.buildArgs,
    targetGpu: options.targetGpu,
    baseImage: options.baseImage,
    fix,
  });
  result.context = context;
  if (options.write && result.fixed) {
    result.written = [];
    for (const file of result.fixed.files) {
      const absolute = path.resolve(context, file.file);
      if (!insideContext(context, absolute)) continue;
      try {
        result.written.push(await writeIntoContext(context, file.file, file.new_text, { force: options.forceWrite }));
      } catch (error) {
        if (!(error instanceof ContextWriteError)) throw error;
        const done = result.written.map((written) => written.file);
        throw new ExpectedFailure({
          kind: 'file-not-written',
          message: `${error.message}${done.length > 0 ? `; already written: ${done.join(', ')}` : '; nothing was written'}`,
          nextStep: `${error.nextStep} Without write, analyze_dockerfile with fix returns the fixed texts and diffs.`,
          ...(error.code ? { code: error.code } : {}),
        });
      }
    }
  }
  return result;
}
