/**
 * The CodeBuild path must not slow the MCP server's start: its modules load the AWS SDK only with `await import()`
 * (type imports are erased) and never import the MCP SDK.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const directory = fileURLToPath(new URL('../../../src/codebuild/', import.meta.url));

describe('src/codebuild imports', () => {
  const files = readdirSync(directory).filter((name) => name.endsWith('.ts'));

  it.each(files)('%s loads @aws-sdk only lazily and never the MCP SDK', (name) => {
    const text = readFileSync(path.join(directory, name), 'utf8');
    const staticImports = [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
    expect(staticImports.filter((source) => source?.startsWith('@aws-sdk/'))).toEqual([]);
    expect(text).not.toContain('@modelcontextprotocol');
  });
});
