import type { AnalysisResult } from '../dockerfile/schema.js';

/** JSON results go to stdout (machine-readable); everything meant for people goes to stderr. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A human-readable analysis report (the analysis is the command's product, so it goes to stdout). */
export function printAnalysis(result: AnalysisResult): void {
  const out: string[] = [];
  for (const finding of result.findings) {
    out.push(`${finding.file}:${finding.line}: ${finding.severity} [${finding.category}] ${finding.message}`);
    if (finding.fix) out.push(`  fix: ${finding.fix.description}`);
  }
  const { errors, warnings, infos } = result.summary;
  out.push(`${errors} error(s), ${warnings} warning(s), ${infos} info(s)`);
  for (const file of result.fixed?.files ?? []) out.push('', file.diff.trimEnd());
  for (const written of result.written ?? []) out.push(`wrote ${written.file} (backup: ${written.backup})`);
  process.stdout.write(`${out.join('\n')}\n`);
}
