import { applyTextEdits, unifiedDiff, type TextEdit } from '../util/text-edits.js';
import { buildModel, type ModelInput } from './model.js';
import { normaliseName } from './requirements.js';
import { SourceSet, spanOf, UNRESOLVED, type Span } from './text.js';

export interface RepinLocation {
  file: string;
  line: number;
  old_spec: string;
  new_spec: string;
}

export interface RepinPlan {
  package: string;
  version: string;
  /** False when the package is not requested anywhere the analyser can edit. */
  found: boolean;
  locations: RepinLocation[];
  /** Minimal edits per file (relative to the build context). */
  edits: Record<string, TextEdit[]>;
  /** The new text of every file that changes. */
  new_texts: Record<string, string>;
  diffs: Record<string, string>;
  /** Requests that could not be edited (wheel URLs, unresolved ARGs), for the caller to report. */
  skipped: string[];
}

/**
 * Finds every place `packageName` is requested (RUN pip/uv/conda lines, requirement and constraint files) and plans
 * minimal edits that change its version spec to `==newVersion` (`=newVersion` for conda). Used by the build loop
 * when pip reports ResolutionImpossible. A local label such as +cu121 on the old pin is kept unless `newVersion`
 * carries its own or is a wildcard. When the version comes from an ARG/ENV default, that default is edited.
 */
export function planRepin(input: ModelInput, packageName: string, newVersion: string): RepinPlan {
  const model = buildModel(input);
  const wanted = normaliseName(packageName);
  const names = wanted === 'torch' ? new Set(['torch', 'pytorch']) : new Set([wanted]);
  const plan: RepinPlan = {
    package: packageName,
    version: newVersion,
    found: false,
    locations: [],
    edits: {},
    new_texts: {},
    diffs: {},
    skipped: [],
  };
  const spans = new Map<string, { span: Span; text: string }>();
  for (const install of model.installs) {
    for (const request of install.requests) {
      const req = request.req;
      if (!names.has(req.name) || (req.conda && req.name !== 'pytorch' && wanted === 'torch' && req.name !== 'torch'))
        continue;
      if (req.name === 'pytorch' && !req.conda) continue;
      plan.found = true;
      const where = `${request.position.file}:${request.position.line}`;
      if (req.unresolved || req.url) {
        plan.skipped.push(`${where} ${req.token.text.replaceAll(UNRESOLVED, '<unresolved>')}`);
        continue;
      }
      let span: Span | null = null;
      let text: string;
      const hasOwnLabel = newVersion.includes('+') || newVersion.endsWith('*');
      if (
        req.versionRange &&
        req.pin.text &&
        (req.spec.startsWith('==') || req.spec.startsWith('=') || req.spec.startsWith('~='))
      ) {
        const keepLabel = !hasOwnLabel && req.pin.local && !req.conda ? `+${req.pin.local}` : '';
        text = `${newVersion}${keepLabel}`;
        if (req.spec.startsWith('~=')) {
          span = spanOf(req.token, req.specRange[0], req.specRange[1]);
          text = `==${text}`;
        } else span = spanOf(req.token, req.versionRange[0], req.versionRange[1]);
      } else {
        text = req.conda ? `=${newVersion}` : `==${newVersion}`;
        span = spanOf(req.token, req.specRange[0], req.specRange[1]);
      }
      if (!span) {
        plan.skipped.push(`${where} ${req.token.text}`);
        continue;
      }
      const key = `${span.file}:${span.start}:${span.end}`;
      if (!spans.has(key)) {
        spans.set(key, { span, text });
        const oldSpec = req.spec || '(unpinned)';
        const newSpec = req.conda ? `=${newVersion}` : `==${text.replace(/^==/, '')}`;
        plan.locations.push({
          file: request.position.file,
          line: request.position.line,
          old_spec: oldSpec,
          new_spec: newSpec,
        });
      }
    }
  }
  const byFile = new Map<number, TextEdit[]>();
  for (const { span, text } of spans.values()) {
    const edit = toTextEdit(model.sources, span, text);
    byFile.set(span.file, [...(byFile.get(span.file) ?? []), edit]);
  }
  for (const [fileIndex, edits] of byFile) {
    const file = model.sources.file(fileIndex);
    const next = applyTextEdits(file.text, edits);
    if (next === file.text) continue;
    plan.edits[file.path] = edits;
    plan.new_texts[file.path] = next;
    plan.diffs[file.path] = unifiedDiff(file.path, file.text, next);
  }
  return plan;
}

function toTextEdit(sources: SourceSet, span: Span, text: string): TextEdit {
  const start = sources.lineColumnOf(span.file, span.start);
  const end = sources.lineColumnOf(span.file, span.end);
  return {
    file: sources.file(span.file).path,
    startLine: start.line,
    startColumn: start.column,
    endLine: end.line,
    endColumn: end.column,
    newText: text,
  };
}
