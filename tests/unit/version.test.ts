import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';

describe('VERSION', () => {
  it('equals package.json version and the skill metadata version', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const skill = await readFile(path.join(root, 'skill/docker-image-builder/SKILL.md'), 'utf8');
    expect(skill).toMatch(new RegExp(`^  version: ${VERSION.replace(/\./g, '\\.')}$`, 'm'));
    expect(skill).toMatch(/^name: docker-image-builder$/m);
  });
});
