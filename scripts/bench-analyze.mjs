#!/usr/bin/env node
// Times analyze_dockerfile in-process on every corpus Dockerfile (../shared/corpus/dockerfiles).
// Usage: npm run build && node scripts/bench-analyze.mjs [iterations] [--fix]
// Prints a plain-text table: per-file median and the median over all files, in milliseconds.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { analyzeSources } from '../dist/dockerfile/index.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const corpusDir = path.resolve(repoRoot, '..', 'shared', 'corpus', 'dockerfiles');
const iterations = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 50);
const fix = process.argv.includes('--fix');

if (!existsSync(corpusDir)) {
  console.log(`corpus not found at ${corpusDir}; nothing to benchmark`);
  process.exit(0);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const files = readdirSync(corpusDir).filter((file) => /^\d\d_/.test(file));
const ids = [...new Set(files.map((file) => file.slice(0, 2)))].sort();
const rows = [];
for (const id of ids) {
  const group = files.filter((file) => file.startsWith(`${id}_`));
  const dockerfile = group.find((file) => /(Dockerfile|dockerfile|Dockerfile\.gpu)$/.test(file));
  const companions = group.filter((file) => file !== dockerfile);
  const text = readFileSync(path.join(corpusDir, dockerfile), 'utf8');
  const cache = new Map();
  // The context is read once (as a real run reads each referenced file once); the timing covers parsing, the
  // model, the rules and (with --fix) the fix passes.
  const readContextFile = (relPath) => {
    if (cache.has(relPath)) return cache.get(relPath);
    const hit = companions.find((file) => file.endsWith(`__${relPath.replaceAll('/', '__')}`));
    const value = hit ? readFileSync(path.join(corpusDir, hit), 'utf8') : undefined;
    cache.set(relPath, value);
    return value;
  };
  analyzeSources({ dockerfileText: text, readContextFile, fix }); // warm-up
  const times = [];
  let findings = 0;
  for (let index = 0; index < iterations; index++) {
    const start = performance.now();
    const result = analyzeSources({ dockerfileText: text, readContextFile, fix });
    times.push(performance.now() - start);
    findings = result.findings.length;
  }
  rows.push({
    id,
    name: dockerfile.slice(3, 63),
    lines: text.split('\n').length,
    findings,
    median: median(times),
    max: Math.max(...times),
  });
}

console.log(
  `analyze_dockerfile in-process${fix ? ' (with fix)' : ''}: ${iterations} runs per file, node ${process.version}`,
);
console.log(
  `${'file'.padEnd(66)} ${'lines'.padStart(5)} ${'finds'.padStart(5)} ${'median ms'.padStart(10)} ${'max ms'.padStart(8)}`,
);
for (const row of rows) {
  console.log(
    `${`${row.id} ${row.name}`.padEnd(66)} ${String(row.lines).padStart(5)} ${String(row.findings).padStart(5)} ${row.median.toFixed(3).padStart(10)} ${row.max.toFixed(3).padStart(8)}`,
  );
}
const medians = rows.map((row) => row.median);
console.log(
  `overall median of per-file medians: ${median(medians).toFixed(3)} ms; slowest file median: ${Math.max(...medians).toFixed(3)} ms`,
);
