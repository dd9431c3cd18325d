import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const directory = fileURLToPath(new URL('../../fixtures/build-logs/', import.meta.url));

/** A captured build log from tests/fixtures/build-logs (see its README for how each was produced). */
export function fixtureLog(name: string): string {
  return readFileSync(`${directory}${name}`, 'utf8');
}

export function fixtureLines(name: string): string[] {
  const lines = fixtureLog(name).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function fixtureDockerfile(name: string): string {
  return readFileSync(`${directory}${name}.Dockerfile`, 'utf8');
}
