import { analyzeSources, type AnalyzeSourcesOptions } from '../../../src/dockerfile/analyze.js';
import type { AnalysisResult, Finding } from '../../../src/dockerfile/schema.js';

/** Analyses an in-memory Dockerfile with optional context files. */
export function analyze(
  dockerfile: string,
  files: Record<string, string> = {},
  options: Omit<AnalyzeSourcesOptions, 'dockerfileText' | 'readContextFile'> = {},
): AnalysisResult {
  return analyzeSources({ dockerfileText: dockerfile, readContextFile: (path) => files[path], ...options });
}

export function categories(result: AnalysisResult | Finding[]): string[] {
  const findings = Array.isArray(result) ? result : result.findings;
  return [...new Set(findings.map((finding) => finding.category))].sort();
}

export function find(result: AnalysisResult, category: string): Finding | undefined {
  return result.findings.find((finding) => finding.category === category);
}

export function fixedText(result: AnalysisResult, file = 'Dockerfile'): string | undefined {
  return result.fixed?.files.find((entry) => entry.file === file)?.new_text;
}

/** Python on an nvidia/cuda image, so python-missing stays quiet in tests about other things. */
export const withPython = (base: string) =>
  `FROM ${base}\nRUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip\n`;
