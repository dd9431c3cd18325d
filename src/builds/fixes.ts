import { readFileSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { companionVersionFor } from '../compat/index.js';
import { diagnoseBuildLog } from '../diagnosis/diagnose.js';
import type { Diagnosis } from '../diagnosis/types.js';
import { analyzeSources } from '../dockerfile/analyze.js';
import { planRepin } from '../dockerfile/repin.js';
import { writeIntoContext } from '../util/context-write.js';
import { contextPath, contextPathSync, outsideContextError } from '../util/context-path.js';
import { applyTextEdits, type TextEdit } from '../util/text-edits.js';
import type { AttemptOutcome, BuildRequest, FailurePlan, PreparedSources } from '../build-model/attempt.js';
import type { SmokeResult } from '../build-model/smoke-schema.js';
import type { BuildError, FixApplied } from '../build-model/record-schema.js';

type Fix = Omit<FixApplied, 'attempt'>;

/** Largest file the analyser reads (requirement files are small; anything bigger is not one). */
const MAX_READ_BYTES = 4 * 1024 * 1024;

/**
 * Reads a context file for the analyser, with fixed texts taking precedence, refusing anything outside the context.
 * Synchronous because the analyser is; it reads only the few files the Dockerfile copies in.
 */
function contextReader(contextDir: string, overrides: Record<string, string>) {
  return (relPath: string): string | undefined => {
    if (relPath in overrides) return overrides[relPath];
    if (relPath.startsWith('/') || relPath.split('/').includes('..')) return undefined;
    const resolved = contextPathSync(contextDir, relPath);
    if (!resolved.ok) return undefined;
    try {
      const stat = statSync(resolved.real);
      return stat.isFile() && stat.size <= MAX_READ_BYTES ? readFileSync(resolved.real, 'utf8') : undefined;
    } catch {
      return undefined;
    }
  };
}

/**
 * Makes the fixed texts usable by `docker build`: the Dockerfile as a copy in the work folder, and when a file the
 * build copies in (a requirements file) changed too, a copy of the context with the fixed files in it.
 */
async function materialize(
  request: BuildRequest,
  workDir: string,
  fixedTexts: Record<string, string>,
): Promise<PreparedSources> {
  const otherFiles = Object.keys(fixedTexts).filter((file) => file !== request.dockerfile);
  if (otherFiles.length === 0) {
    if (fixedTexts[request.dockerfile] === undefined) {
      return {
        contextDir: request.contextDir,
        dockerfilePath: path.join(request.contextDir, request.dockerfile),
        fixedTexts,
      };
    }
    const dockerfilePath = path.join(workDir, 'Dockerfile.fixed');
    await writeFile(dockerfilePath, fixedTexts[request.dockerfile]!);
    return { contextDir: request.contextDir, dockerfilePath, fixedTexts };
  }
  // The user's files stay untouched: the build gets its own copy of the context.
  const contextCopy = path.join(workDir, 'context');
  await rm(contextCopy, { recursive: true, force: true });
  await cp(request.contextDir, contextCopy, {
    recursive: true,
    filter: (source) => path.basename(source) !== '.git',
  });
  for (const [file, text] of Object.entries(fixedTexts)) {
    await mkdir(path.dirname(path.join(contextCopy, file)), { recursive: true });
    await writeFile(path.join(contextCopy, file), text);
  }
  return { contextDir: contextCopy, dockerfilePath: path.join(contextCopy, request.dockerfile), fixedTexts };
}

/** Reads a file of the context by its real path, refusing one that resolves outside the context. */
async function readContextText(contextDir: string, file: string): Promise<string> {
  const resolved = await contextPath(contextDir, file);
  if (!resolved.ok && resolved.reason === 'outside') throw outsideContextError('dockerfile', file, resolved.real);
  return readFile(resolved.ok ? resolved.real : path.join(contextDir, file), 'utf8');
}

async function currentText(request: BuildRequest, prepared: PreparedSources, file: string): Promise<string> {
  return prepared.fixedTexts[file] ?? (await readContextText(request.contextDir, file));
}

/** Applies the analyser's fixes (when allowed) and the base-image override, before the first attempt. */
export async function prepareSources(
  request: BuildRequest,
  workDir: string,
): Promise<{ prepared: PreparedSources; fixes: Fix[] }> {
  const dockerfileText = await readContextText(request.contextDir, request.dockerfile);
  const fixAllowed = request.autoFix && request.fixBeforeBuild;
  if (!fixAllowed && request.baseImage === undefined)
    return { prepared: await materialize(request, workDir, {}), fixes: [] };
  const analysis = analyzeSources({
    dockerfilePath: request.dockerfile,
    dockerfileText,
    readContextFile: contextReader(request.contextDir, {}),
    buildArgs: request.buildArgs,
    baseImage: request.baseImage,
    fix: fixAllowed,
  });
  const fixedTexts: Record<string, string> = {};
  const fixes: Fix[] = [];
  if (request.baseImage !== undefined) {
    fixes.push({
      what: `base image -> ${request.baseImage}`,
      where: `${request.dockerfile} (final stage FROM)`,
      why: 'base_image was given',
      source: 'analysis',
    });
  }
  for (const file of analysis.fixed?.files ?? []) fixedTexts[file.file] = file.new_text;
  for (const applied of analysis.fixed?.applied ?? []) {
    const finding = analysis.findings.find(
      (f) => f.category === applied.category && f.file === applied.file && f.line === applied.line,
    );
    fixes.push({
      what: applied.description,
      where: `${applied.file}:${applied.line}`,
      why: finding?.message ?? applied.category,
      source: 'analysis',
    });
  }
  return { prepared: await materialize(request, workDir, fixedTexts), fixes };
}

function toBuildError(diagnosis: Diagnosis | undefined, outcome: AttemptOutcome): BuildError {
  if (!diagnosis) {
    return {
      kind: 'unknown',
      summary: outcome.errorMessage ?? 'The build failed.',
      dockerfile_line: outcome.failedStep?.dockerfileLine,
      excerpt: '',
      next_step: 'Read the log file, fix the failing instruction, and build again.',
    };
  }
  return {
    kind: diagnosis.kind,
    summary: diagnosis.summary,
    dockerfile_line: diagnosis.dockerfileLine ?? outcome.failedStep?.dockerfileLine,
    excerpt: diagnosis.excerpt,
    next_step: diagnosis.nextStep,
  };
}

interface PlannedFix {
  texts: Record<string, string>;
  fixes: Fix[];
}

/** Repins torchvision/torchaudio to the release paired with `torch` (from the compat data), where it is pinned. */
function repinCompanion(
  request: BuildRequest,
  prepared: PreparedSources,
  dockerfileText: string,
  pkg: string,
  torch: string,
  reason: string,
): PlannedFix | undefined {
  const companion = pkg === 'torchvision' || pkg === 'torchaudio' ? pkg : undefined;
  const version = companion ? companionVersionFor(torch, companion) : undefined;
  if (!version) return undefined;
  const plan = planRepin(
    {
      dockerfilePath: request.dockerfile,
      dockerfileText,
      readContextFile: contextReader(request.contextDir, prepared.fixedTexts),
      buildArgs: request.buildArgs,
    },
    pkg,
    version,
  );
  if (!plan.found || Object.keys(plan.new_texts).length === 0) return undefined;
  return {
    texts: plan.new_texts,
    fixes: plan.locations.map((location) => ({
      what: `${pkg}${location.old_spec} -> ${pkg}${location.new_spec}`,
      where: `${location.file}:${location.line}`,
      why: `${reason} torch ${torch} pairs with ${pkg} ${version}.`,
      source: 'diagnosis' as const,
    })),
  };
}

/** Turns a diagnosis into changed file texts, or undefined when it has no automatic fix that changes anything. */
async function planFix(
  diagnosis: Diagnosis,
  request: BuildRequest,
  prepared: PreparedSources,
): Promise<PlannedFix | undefined> {
  const fix = diagnosis.fix;
  if (!diagnosis.fixable || !fix) return undefined;
  const dockerfileText = await currentText(request, prepared, request.dockerfile);
  const editOne = (edit: TextEdit | undefined, what: string): PlannedFix | undefined => {
    if (!edit) return undefined;
    const file = edit.file === request.dockerfile ? request.dockerfile : edit.file;
    const before = file === request.dockerfile ? dockerfileText : prepared.fixedTexts[file];
    if (before === undefined) return undefined;
    const after = applyTextEdits(before, [edit]);
    if (after === before) return undefined;
    return {
      texts: { [file]: after },
      fixes: [{ what, where: `${file}:${edit.startLine}`, why: diagnosis.summary, source: 'diagnosis' }],
    };
  };
  switch (fix.action) {
    case 'repin': {
      const torch = fix.conflictsWith.package === 'torch' ? fix.conflictsWith.requested : undefined;
      return torch === undefined
        ? undefined
        : repinCompanion(request, prepared, dockerfileText, fix.package, torch, fix.reason);
    }
    case 'add-apt-get-update':
      return editOne(fix.edit, 'run apt-get update before apt-get install');
    case 'allow-pip-system-install':
      return editOne(fix.edit, 'pip install --break-system-packages (PEP 668 image)');
    case 'fix-dockerfile-syntax':
      return editOne(fix.edit, `${fix.instruction ?? 'instruction'} -> ${fix.suggestedKeyword ?? 'fixed keyword'}`);
    case 'dockerfile-edit':
      return editOne(fix.edit, fix.change);
    case 'reduce-build-parallelism':
      return editOne(
        fix.edit,
        `limit parallel jobs (${Object.entries(fix.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')})`,
      );
    default:
      return undefined;
  }
}

/** Reads a failed attempt's log, diagnoses it, and when a known fix applies, prepares the next attempt. */
export async function planAfterFailure(
  request: BuildRequest,
  outcome: AttemptOutcome,
  prepared: PreparedSources,
  workDir: string,
): Promise<FailurePlan> {
  const log = await readFile(outcome.logFile, 'utf8').catch(() => '');
  const dockerfileText = await currentText(request, prepared, request.dockerfile);
  const diagnoses = diagnoseBuildLog(log, {
    dockerfileText,
    failedDockerfileLine: outcome.failedStep?.dockerfileLine,
    dockerfilePath: request.dockerfile,
  });
  const primary = diagnoses[0];
  const error = toBuildError(primary, outcome);
  if (!primary) return { error };
  if (primary.fix?.action === 'retry') {
    // A network failure may be transient: the same sources get one more try.
    return {
      error,
      retry: {
        fixes: [{ what: 'retry unchanged', where: request.dockerfile, why: primary.summary, source: 'diagnosis' }],
        prepared,
      },
    };
  }
  const planned = await planFix(primary, request, prepared);
  if (!planned) return { error };
  const fixedTexts = { ...prepared.fixedTexts, ...planned.texts };
  return { error, retry: { fixes: planned.fixes, prepared: await materialize(request, workDir, fixedTexts) } };
}

/**
 * write_fixes: puts the fixed texts into the user's files, each through symlinks to its target inside the context,
 * atomically after a backup copy. Throws a ContextWriteError for the first file that cannot be written.
 */
export async function writeFixesToContext(
  request: BuildRequest,
  prepared: PreparedSources,
): Promise<{ file: string; backup: string }[]> {
  const written: { file: string; backup: string }[] = [];
  for (const [file, text] of Object.entries(prepared.fixedTexts)) {
    const target = path.join(request.contextDir, file);
    if ((await readFile(target, 'utf8').catch(() => undefined)) === text) continue;
    written.push(await writeIntoContext(request.contextDir, file, text, { force: request.forceWrite }));
  }
  return written;
}

/** The failed smoke checks as one log: what each printed (traceback, docker error) after its detail. */
function smokeFailureLog(smoke: SmokeResult): string {
  return smoke.checks
    .filter((check) => check.status === 'failed')
    .map((check) => [check.detail ?? '', check.output_excerpt].filter(Boolean).join('\n'))
    .join('\n');
}

/**
 * After an image built but failed its smoke checks: classifies the failure with the same engine as build logs and,
 * when a safe fix applies (torchvision/torchaudio repinned to the torch in the image, libgl1 libglib2.0-0,
 * numpy<2), prepares the next attempt.
 */
export async function planAfterSmokeFailure(
  request: BuildRequest,
  smoke: SmokeResult,
  prepared: PreparedSources,
  workDir: string,
): Promise<FailurePlan> {
  const failed = smoke.checks.filter((check) => check.status === 'failed');
  const dockerfileText = await currentText(request, prepared, request.dockerfile);
  const [primary] = diagnoseBuildLog(smokeFailureLog(smoke), { dockerfileText, dockerfilePath: request.dockerfile });
  const recognised = primary !== undefined && primary.kind !== 'unknown';
  const error: BuildError = {
    kind: recognised ? primary.kind : 'smoke-test-failed',
    summary: `The image built but failed smoke checks: ${failed.map((check) => check.name).join(', ')}.${
      recognised ? ` ${primary.summary}` : ''
    }`,
    excerpt: failed
      .map((check) => `${check.name}: ${check.detail ?? ''}\n${check.output_excerpt}`)
      .join('\n')
      .slice(-2000),
    next_step: recognised
      ? primary.nextStep
      : 'Read the failed checks; fix the Dockerfile (analyze_dockerfile helps) and build again.',
  };
  if (!primary || !recognised) return { error };
  let planned: PlannedFix | undefined;
  const companion = primary.fix?.action === 'manual' ? primary.fix.details?.package : undefined;
  if (primary.kind === 'runtime-torch-companion-mismatch' && companion && smoke.torch_version) {
    const torch = smoke.torch_version.split('+', 1)[0]!;
    planned = repinCompanion(request, prepared, dockerfileText, companion, torch, primary.summary);
  } else {
    planned = await planFix(primary, request, prepared);
  }
  if (!planned) return { error };
  const fixedTexts = { ...prepared.fixedTexts, ...planned.texts };
  return { error, retry: { fixes: planned.fixes, prepared: await materialize(request, workDir, fixedTexts) } };
}
