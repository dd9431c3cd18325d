import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations
import { BEGIN, END, listTools, renderToolTable } from '../../scripts/tool-table.mjs';
import { repoRoot } from '../support/mcp-client.js';

describe('README tool table', () => {
  it('matches tools/list (regenerate with `node scripts/tool-table.mjs --write`)', async () => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const block = readme.slice(readme.indexOf(BEGIN) + BEGIN.length, readme.indexOf(END)).trim();
    expect(block).toBe(renderToolTable(await listTools()));
  });
});
