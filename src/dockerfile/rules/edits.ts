import { NVIDIA_CUDA_OS_RULES, nvidiaCudnnSpelling } from '../../compat/index.js';
import { NVIDIA_CUDA_TAG } from '../images.js';
import type { InstallCommand, PackageRequest, Stage } from '../model.js';
import { spanOf, type SourceSet, type Span } from '../text.js';
import { compareTuple, rootStage } from './support.js';
import type { Edit } from './types.js';

/**
 * Minimal edits the rules propose: each returns the spans to change, or [] when the change cannot be made exactly
 * (the rule then describes the fix in words).
 */

export function labelEdits(request: PackageRequest, from: string, to: string): Edit[] {
  const req = request.req;
  if (!req.versionRange || !req.pin.text) return [];
  const plus = req.pin.text.indexOf(`+${from}`);
  if (plus === -1) return [];
  const start = req.versionRange[0] + plus + 1;
  const span = spanOf(req.token, start, start + from.length);
  return span ? [{ span, text: to }] : [];
}

/** Switches the CUDA build `from` -> `to` in the install's PyTorch index URLs and +labels; [] unless all of them can be. */
export function variantEdits(
  install: InstallCommand,
  resolved: ReadonlyArray<{ request: PackageRequest; local: string | null }>,
  from: string,
  to: string,
): Edit[] {
  const edits: Edit[] = [];
  let complete = true;
  for (const ref of [install.indexUrl, ...install.extraIndexUrls, ...install.findLinks]) {
    if (!ref || !ref.pytorch || ref.variant !== from) continue;
    const at = ref.url.text.indexOf(`/${from}`);
    const span = at === -1 ? null : spanOf(ref.url, at + 1, at + 1 + from.length);
    if (span) edits.push({ span, text: to });
    else complete = false;
  }
  for (const item of resolved) {
    if (item.local === from) {
      const label = labelEdits(item.request, from, to);
      if (label.length === 0) complete = false;
      edits.push(...label);
    }
    if (item.request.req.urlVariant === from && item.request.req.url) complete = false;
  }
  return complete ? dedupe(edits) : [];
}

export function repinEdits(request: PackageRequest, version: string, torchLocal: string | null): Edit[] {
  const req = request.req;
  if (!req.versionRange || !req.pin.text) return [];
  let text = version;
  if (!version.endsWith('*')) {
    const label = req.pin.local ?? (req.conda ? null : torchLocal);
    if (label && req.pin.local) text = `${version}+${label}`;
  }
  const span = spanOf(req.token, req.versionRange[0], req.versionRange[1]);
  return span ? [{ span, text }] : [];
}

export function insertPinEdits(request: PackageRequest, pin: string): Edit[] {
  const req = request.req;
  if (req.spec !== '' || req.url) return [];
  const span = spanOf(req.token, req.specRange[0], req.specRange[0]);
  return span ? [{ span, text: req.conda ? pin.replace(/^==/, '=') : pin }] : [];
}

/** Moves a companion into the torch command (pinned to `spec`), or re-pins it where it is when it cannot move. */
export function moveCompanionEdits(
  sources: SourceSet,
  companion: PackageRequest,
  from: InstallCommand,
  torch: PackageRequest,
  spec: string,
): Edit[] {
  const version = spec.slice(spec.indexOf('==') + 2);
  const others = from.requests.filter((request) => request !== companion && !request.constraint);
  const tokenSpan = spanOf(companion.req.token, 0, companion.req.token.text.length);
  const torchEnd = spanOf(torch.req.token, torch.req.token.text.length, torch.req.token.text.length);
  if (
    others.length === 0 ||
    !tokenSpan ||
    !torchEnd ||
    companion.viaFile ||
    torch.viaFile ||
    companion.req.conda ||
    torch.req.conda
  ) {
    if (companion.req.spec === '') return insertPinEdits(companion, `==${version}`);
    return repinEdits(companion, version, null);
  }
  // remove the token and the whitespace before it
  const file = sources.file(tokenSpan.file).text;
  let start = tokenSpan.start;
  while (start > 0 && (file[start - 1] === ' ' || file[start - 1] === '\t')) start--;
  return [
    { span: { file: tokenSpan.file, start, end: tokenSpan.end }, text: '' },
    { span: torchEnd, text: ` ${spec}` },
  ];
}

export function replaceTagEdits(stage: Stage, tag: string): Edit[] {
  const image = stage.image;
  const colon = image.text.lastIndexOf(':');
  if (colon === -1) return [];
  const span = spanOf(image, colon + 1, image.text.length);
  return span ? [{ span, text: tag }] : [];
}

export function nvidiaVersionEdits(stage: Stage, version: string): Edit[] {
  const facts = stage.facts;
  if (facts?.family !== 'nvidia-cuda' || !facts.tag) return [];
  const match = NVIDIA_CUDA_TAG.exec(facts.tag);
  if (!match) return [];
  const parts = version.split('.').map(Number) as [number, number, number];
  const os = match[6]!;
  if (os.startsWith('ubuntu24') && compareTuple(parts, NVIDIA_CUDA_OS_RULES.ubuntu2404From) < 0) return [];
  const oldVersion = facts.tag.slice(0, facts.tag.indexOf('-'));
  const colon = stage.image.text.lastIndexOf(':');
  const edits: Edit[] = [];
  const versionSpan = spanOf(stage.image, colon + 1, colon + 1 + oldVersion.length);
  if (!versionSpan) return [];
  edits.push({ span: versionSpan, text: version });
  const cudnn = match[4];
  if (cudnn) {
    const spelling = nvidiaCudnnSpelling(parts);
    if (!spelling) return [];
    if (spelling !== cudnn) {
      const at = colon + 1 + oldVersion.length + 1;
      const cudnnSpan = spanOf(stage.image, at, at + cudnn.length);
      if (!cudnnSpan) return [];
      edits.push({ span: cudnnSpan, text: spelling });
    }
  }
  return edits;
}

export function pythonEdits(stage: Stage, version: string, python: { version: string; span?: Span | null }): Edit[] {
  if (python.span) return [{ span: python.span, text: version }];
  const current = python.version;
  const root = rootStage(stage);
  const facts = root.facts;
  if (facts?.family === 'python' && facts.tag && facts.python === current) {
    const image = root.image;
    const colon = image.text.lastIndexOf(':');
    const at = image.text.indexOf(current, colon);
    if (at === -1) return [];
    const span = spanOf(image, at, at + current.length);
    return span ? [{ span, text: version }] : [];
  }
  return [];
}

export function dedupe(edits: Edit[]): Edit[] {
  const seen = new Set<string>();
  return edits.filter((edit) => {
    const key = `${edit.span.file}:${edit.span.start}:${edit.span.end}:${edit.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
