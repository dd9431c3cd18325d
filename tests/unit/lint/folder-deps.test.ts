/**
 * The folder-deps lint rule on a small src/ tree of its own: top/ and side/ share the top layer, then mid/ (with
 * mid/sub/ inheriting its DEPS.list and mid/own/ having one), then low/, then the root file config.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, expect, it } from 'vitest';
import plugin, { parseDepsList } from '../../../eslint-rules/folder-deps.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const base = mkdtempSync(path.join(tmpdir(), 'folder-deps-'));
const src = path.join(base, 'src');
const lists: Record<string, string> = {
  'DEPS.list': '# root files\n[index.ts]\ntop\nconfig.ts\n\n[config.ts]\n',
  'top/DEPS.list': '# top layer\nmid/   # with a trailing slash\nconfig.ts\n',
  'side/DEPS.list': 'low\ntop  # sideways: the layers refuse it whatever this says\n',
  'mid/DEPS.list': 'low\n',
  'mid/own/DEPS.list': '# its own list replaces the parent one\nmid\n',
  'low/DEPS.list': '# nothing\n',
};
for (const [file, text] of Object.entries(lists)) {
  mkdirSync(path.dirname(path.join(src, file)), { recursive: true });
  writeFileSync(path.join(src, file), text);
}
mkdirSync(path.join(src, 'mid', 'sub'), { recursive: true });
mkdirSync(path.join(src, 'fresh'), { recursive: true });
afterAll(() => rmSync(base, { recursive: true, force: true }));

const LAYERS = [['index.ts'], ['top', 'side'], ['mid'], ['low'], ['config.ts']];
const options = [{ root: src, layers: LAYERS }];
const at = (file: string) => path.join(src, file);
const display = path.relative(process.cwd(), src).split(path.sep).join('/');

const tester = new RuleTester({
  languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
});
const rule = plugin.rules['folder-deps'];

/** The message `messageId` gives with `data`; placeholders not given match anything. */
function expected(messageId: string, data: Record<string, string> = {}): { message: RegExp } {
  const template = (rule.meta?.messages ?? {})[messageId] ?? '';
  const pattern = template
    .split(/(\{\{\w+\}\})/)
    .map((part) => {
      const key = /^\{\{(\w+)\}\}$/.exec(part)?.[1];
      if (!key) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const value = data[key];
      return value === undefined ? '.*' : value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  if (!template) throw new Error(`no message ${messageId}`);
  return { message: new RegExp(`^${pattern}$`) };
}

tester.run('folder-deps', rule, {
  valid: [
    { name: 'downhill, listed', filename: at('top/a.ts'), code: "import { b } from '../mid/b.js';", options },
    { name: 'a subfolder of a listed folder', filename: at('top/a.ts'), code: "import '../mid/sub/c.js';", options },
    { name: 'a listed root file', filename: at('top/a.ts'), code: "import { c } from '../config.js';", options },
    { name: 'itself', filename: at('top/a.ts'), code: "import './x.js'; import './inner/y.js';", options },
    {
      name: 'its own subfolder, even one with a DEPS.list',
      filename: at('mid/b.ts'),
      code: "import '../mid/own/e.js';",
      options,
    },
    { name: 'packages are not checked', filename: at('low/d.ts'), code: "import { z } from 'zod';", options },
    { name: 'type imports', filename: at('top/a.ts'), code: "import type { B } from '../mid/b.js';", options },
    { name: 'export * from', filename: at('top/a.ts'), code: "export * from '../mid/b.js';", options },
    {
      name: 'a subfolder without a DEPS.list inherits its parent one',
      filename: at('mid/sub/c.ts'),
      code: "import '../../low/d.js'; import '../b.js';",
      options,
    },
    { name: 'a subfolder with its own list', filename: at('mid/own/e.ts'), code: "import '../b.js';", options },
    { name: 'a root file by its section', filename: at('index.ts'), code: "import './top/a.js';", options },
    {
      name: 'files outside the root are not checked',
      filename: path.join(base, 'tests', 't.ts'),
      code: "import '../src/top/a.js';",
      options,
    },
    {
      name: 'without layers, DEPS.list alone decides',
      filename: at('low/d.ts'),
      code: "import './e.js';",
      options: [{ root: src }],
    },
  ],
  invalid: [
    {
      name: 'an import that runs back up names both folders, the file and the list',
      filename: at('low/d.ts'),
      code: "import { b } from '../mid/b.js';",
      options,
      errors: [
        {
          message:
            `low/ may not import mid/ (../mid/b.js): mid/ sits above low/ in the layer order (eslint.config.js), and ` +
            `imports run downhill only. Change the import in ${display}/low/d.ts: move what it needs into low/ or a ` +
            `layer below both. Adding "mid" to ${display}/low/DEPS.list would not help.`,
        },
      ],
    },
    {
      name: 'sideways within a layer',
      filename: at('top/a.ts'),
      code: "import '../side/s.js';",
      options,
      errors: [expected('upward', { from: 'top/', to: 'side/', where: 'beside' })],
    },
    {
      name: 'sideways even when the DEPS.list lists it',
      filename: at('side/s.ts'),
      code: "import '../top/a.js';",
      options,
      errors: [expected('upward', { from: 'side/', to: 'top/', where: 'beside' })],
    },
    {
      name: 'import()',
      filename: at('mid/b.ts'),
      code: "const m = await import('../top/a.js');",
      options,
      errors: [expected('upward', { from: 'mid/', to: 'top/', where: 'above' })],
    },
    {
      name: 'export … from',
      filename: at('mid/b.ts'),
      code: "export { a } from '../top/a.js';",
      options,
      errors: [expected('upward')],
    },
    {
      name: "a type-level import('…')",
      filename: at('mid/b.ts'),
      code: "type A = import('../top/a.js').A;",
      options,
      errors: [expected('upward')],
    },
    {
      name: 'import type',
      filename: at('low/d.ts'),
      code: "import type { A } from '../top/a.js';",
      options,
      errors: [expected('upward')],
    },
    {
      name: 'downhill but not listed',
      filename: at('top/a.ts'),
      code: "import '../low/d.js';",
      options,
      errors: [
        expected('notAllowed', { from: 'top/', to: 'low/', entry: 'low', depsFile: `${display}/top/DEPS.list` }),
      ],
    },
    {
      name: 'a root file that is not listed',
      filename: at('mid/b.ts'),
      code: "import '../config.js';",
      options,
      errors: [expected('notAllowed', { from: 'mid/', to: 'config.ts', entry: 'config.ts' })],
    },
    {
      name: 'a subfolder with its own list does not inherit the parent one',
      filename: at('mid/own/e.ts'),
      code: "import '../../low/d.js';",
      options,
      errors: [expected('notAllowed', { from: 'mid/own/', depsFile: `${display}/mid/own/DEPS.list` })],
    },
    {
      name: 'root files name what they import, file by file',
      filename: at('index.ts'),
      code: "import './mid/b.js';",
      options,
      errors: [expected('notAllowed', { from: 'index.ts', to: 'mid/' })],
    },
    {
      name: 'a root file importing up',
      filename: at('config.ts'),
      code: "import './top/a.js';",
      options,
      errors: [expected('upward', { from: 'config.ts', to: 'top/' })],
    },
    {
      name: 'a folder missing from the layers, once per file',
      filename: at('fresh/n.ts'),
      code: "import '../low/d.js'; import '../mid/b.js';",
      options,
      errors: [expected('unplaced', { unit: 'fresh/' })],
    },
    {
      name: 'importing a folder missing from the layers',
      filename: at('top/a.ts'),
      code: "import '../fresh/n.js';",
      options,
      errors: [expected('unplaced', { unit: 'fresh/' })],
    },
    {
      name: 'a top-level folder without a DEPS.list, once per file',
      filename: at('fresh/n.ts'),
      code: "import '../low/d.js'; import '../mid/b.js';",
      options: [{ root: src }],
      errors: [expected('missingList', { from: 'fresh/', depsFile: `${display}/fresh/DEPS.list` })],
    },
  ],
});

describe('parseDepsList', () => {
  it('reads entries, comments, trailing slashes and per-file sections', () => {
    const deps = parseDepsList('# head\nutil/\n./docker  # inline\n\n[server.ts]\ntools\n[config.ts]\n');
    expect(deps.all).toEqual(['util', 'docker']);
    expect(Object.fromEntries(deps.files)).toEqual({ 'server.ts': ['tools'], 'config.ts': [] });
  });
});

describe("this project's DEPS.list files", () => {
  const root = fileURLToPath(new URL('../../../src/', import.meta.url));
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name === 'DEPS.list') found.push(full);
    }
  };
  walk(root);

  it('every top-level folder of src/ has one', () => {
    const folders = readdirSync(root).filter((name) => statSync(path.join(root, name)).isDirectory());
    for (const folder of folders) expect(found, folder).toContain(path.join(root, folder, 'DEPS.list'));
  });

  it.each(found.map((file) => path.relative(root, file)))('%s names only folders and files that exist', (file) => {
    const deps = parseDepsList(readFileSync(path.join(root, file), 'utf8'));
    const entries = [...deps.all, ...[...deps.files.values()].flat()];
    for (const entry of entries)
      expect(statSync(path.join(root, entry), { throwIfNoEntry: false }), entry).toBeDefined();
    if (path.dirname(file) === '.') {
      for (const name of deps.files.keys())
        expect(statSync(path.join(root, name), { throwIfNoEntry: false }), name).toBeDefined();
    }
  });
});
