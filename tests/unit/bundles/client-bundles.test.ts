// The bundles clients install: a Kiro power (no validator exists for powers, so this checks what Kiro reads: the
// POWER.md frontmatter fields and an mcp.json that starts this package) and the Claude Code plugin's pointers
// (claude plugin validate --strict runs in CI, scripts/bundle-check.mjs; this checks they name our own files).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const packageName = (JSON.parse(read('package.json')) as { name: string }).name;

interface McpConfig {
  mcpServers: Record<string, { command: string; args: string[] }>;
}

describe('the Kiro power', () => {
  const power = read('kiro-power/docker-image-builder/POWER.md');
  const frontmatter = yaml.load(/^---\n([\s\S]*?)\n---\n/.exec(power)![1]!) as Record<string, unknown>;

  it('has the frontmatter fields Kiro reads, and none it does not', () => {
    expect(Object.keys(frontmatter).sort()).toEqual(['author', 'description', 'displayName', 'keywords', 'name']);
    expect(frontmatter.name).toMatch(/^[a-z0-9-]+$/);
    expect(frontmatter.keywords).toEqual(expect.arrayContaining(['docker', 'pytorch']));
  });

  it('starts this package, not a namesake, with the same command as the repository mcp.json', () => {
    const config = JSON.parse(read('kiro-power/docker-image-builder/mcp.json')) as McpConfig;
    const server = Object.values(config.mcpServers)[0]!;
    expect(server).toMatchObject({ command: 'npx', args: ['-y', packageName] });
    expect(config).toEqual(JSON.parse(read('mcp.json')));
  });
});

describe('the Claude Code plugin', () => {
  it('points at the skill folder and the mcp.json that starts this package', () => {
    const plugin = JSON.parse(read('.claude-plugin/plugin.json')) as {
      skills: string;
      mcpServers: string;
      version: string;
    };
    expect(read(path.join(plugin.skills, 'docker-image-builder', 'SKILL.md'))).toMatch(
      /^---\nname: docker-image-builder\n/,
    );
    const config = JSON.parse(read(plugin.mcpServers)) as McpConfig;
    expect(Object.values(config.mcpServers)[0]).toMatchObject({ args: ['-y', packageName] });
    expect(plugin.version).toBe((JSON.parse(read('package.json')) as { version: string }).version);
  });
});
