// @ts-check
/**
 * folder-deps: every relative import under src/ must be allowed by its folder's DEPS.list.
 *
 * A DEPS.list names, one per line, the folders (e.g. `docker`, `docker/output`) and root files (e.g. `config.ts`)
 * of src/ that files in its folder may import; `#` starts a comment. A folder may always import itself and its own
 * subfolders. A subfolder without a DEPS.list belongs to its parent's; a top-level folder without one is an error,
 * so a new folder has to say where it sits. The DEPS.list in src/ itself governs the root files and names nothing by
 * default: a `[file.ts]` line starts a section whose entries apply only to that file (entries before the first
 * section apply to every file of the folder).
 *
 * With the `layers` option (the folders and root files of src/, top to bottom; names in one inner array share a
 * layer) an import must also run down the order, whatever a DEPS.list says: a DEPS.list can narrow the order, never
 * turn an arrow around. A folder or root file missing from the order is reported, so a new one has to be placed.
 *
 * Imports checked: `import … from`, `import()`, `export … from`, `export * from` and type-level `import('…')`.
 * Bare specifiers (packages) are left to other rules.
 */
import fs from 'node:fs';
import path from 'node:path';

const DEPS_FILE = 'DEPS.list';
const EXTENSION = /\.(d\.)?[cm]?[jt]sx?$/;

/** @typedef {{ all: string[], files: Map<string, string[]> }} DepsList */

/** @type {Map<string, { mtimeMs: number, deps: DepsList }>} */
const cache = new Map();

/**
 * Parses DEPS.list text.
 * @param {string} text
 * @returns {DepsList}
 */
export function parseDepsList(text) {
  /** @type {DepsList} */
  const deps = { all: [], files: new Map() };
  let current = deps.all;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section?.[1]) {
      const name = section[1].trim();
      current = deps.files.get(name) ?? [];
      deps.files.set(name, current);
      continue;
    }
    current.push(line.replace(/^\.\//, '').replace(/\/+$/, ''));
  }
  return deps;
}

/**
 * @param {string} file
 * @returns {DepsList | undefined}
 */
function readDepsList(file) {
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    return undefined;
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit.deps;
  const deps = parseDepsList(fs.readFileSync(file, 'utf8'));
  cache.set(file, { mtimeMs: stat.mtimeMs, deps });
  return deps;
}

/** @param {string} p */
const posix = (p) => p.split(path.sep).join('/');
/** @param {string} p */
const stripExtension = (p) => p.replace(EXTENSION, '');

/**
 * The folder whose DEPS.list governs `dir` (relative to src, '' for src itself): the nearest one with a DEPS.list,
 * never src for a file inside a folder. Returns the top-level folder, without a list, when none has one.
 * @param {string} srcRoot
 * @param {string} relDir
 * @returns {{ folder: string, list: DepsList | undefined }}
 */
function governing(srcRoot, relDir) {
  if (relDir === '') return { folder: '', list: readDepsList(path.join(srcRoot, DEPS_FILE)) };
  const parts = relDir.split('/');
  for (let n = parts.length; n >= 1; n--) {
    const folder = parts.slice(0, n).join('/');
    const list = readDepsList(path.join(srcRoot, folder, DEPS_FILE));
    if (list) return { folder, list };
  }
  return { folder: parts[0] ?? relDir, list: undefined };
}

/**
 * Whether `entry` (a folder or a file, relative to src) covers the target file `target` (relative to src).
 * @param {string} entry
 * @param {string} target
 */
function covers(entry, target) {
  if (target === entry || target.startsWith(`${entry}/`)) return true;
  return EXTENSION.test(entry) && stripExtension(entry) === stripExtension(target);
}

/**
 * The layer unit of a path relative to src: its top-level folder, or the root file without its extension.
 * @param {string} rel
 */
function unitOf(rel) {
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : stripExtension(rel);
}

/** @param {string} name a layers entry: `tools`, `tools/` or `config.ts` */
function unitName(name) {
  return stripExtension(name.replace(/\/+$/, ''));
}

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: "Relative imports under src/ must be allowed by the importing folder's DEPS.list." },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string', description: 'The source root (default: src under the cwd).' },
          layers: {
            type: 'array',
            description: 'Folders and root files of src/, top to bottom; an inner array is one layer.',
            items: { type: 'array', items: { type: 'string' } },
          },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      notAllowed:
        '{{from}} may not import {{to}} ({{specifier}}): {{to}} is not in {{depsFile}}. If {{to}} is meant to be used ' +
        'by {{from}}, add "{{entry}}" to {{depsFile}}; otherwise change the import in {{file}}.',
      upward:
        '{{from}} may not import {{to}} ({{specifier}}): {{to}} sits {{where}} {{from}} in the layer order ' +
        '(eslint.config.js), and imports run downhill only. Change the import in {{file}}: move what it needs into ' +
        '{{from}} or a layer below both. Adding "{{entry}}" to {{depsFile}} would not help.',
      unplaced:
        '{{unit}} is not in the layer order: add it to the layers of local/folder-deps in eslint.config.js, ' +
        'below everything that imports it and above everything it imports.',
      missingList:
        '{{from}} has no DEPS.list, so its imports cannot be checked: create {{depsFile}} listing, one per line, ' +
        'the folders and root files of src/ that {{from}} may import.',
    },
  },
  create(context) {
    const options = /** @type {{ root?: string, layers?: string[][] } | undefined} */ (context.options[0]);
    /** @type {Map<string, number> | undefined} */
    const layerOf = options?.layers
      ? new Map(options.layers.flatMap((names, index) => names.map((name) => [unitName(name), index])))
      : undefined;
    const srcRoot = path.resolve(context.cwd, options?.root ?? 'src');
    const filename = path.resolve(context.cwd, context.filename);
    const relFile = posix(path.relative(srcRoot, filename));
    if (relFile.startsWith('../') || path.isAbsolute(relFile)) return {};
    const relDir = path.posix.dirname(relFile) === '.' ? '' : path.posix.dirname(relFile);
    const { folder, list } = governing(srcRoot, relDir);
    const displayRoot = posix(path.relative(context.cwd, srcRoot)) || '.';
    const depsFile = `${displayRoot}/${folder === '' ? '' : `${folder}/`}${DEPS_FILE}`;
    const from = folder === '' ? path.posix.basename(relFile) : `${folder}/`;
    const allowed = list ? [...list.all, ...(list.files.get(path.posix.relative(folder, relFile)) ?? [])] : [];
    const fromUnit = unitOf(relFile);
    const file = `${displayRoot}/${relFile}`;
    let reportedMissing = false;
    let reportedUnplaced = false;

    /** @param {import('estree').Node | null | undefined} source */
    function check(source) {
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const specifier = source.value;
      if (!specifier.startsWith('.')) return;
      const target = posix(path.relative(srcRoot, path.resolve(path.dirname(filename), specifier)));
      if (target.startsWith('../') || path.isAbsolute(target)) return;
      if (folder !== '' && target.startsWith(`${folder}/`)) return;
      const toUnit = unitOf(target);
      const top = target.includes('/') ? target.slice(0, target.indexOf('/')) : target;
      const to = target.includes('/') ? `${top}/` : top.replace(/\.[cm]?js$/, '.ts');
      const entry = target.includes('/') ? top : to;
      if (layerOf && toUnit !== fromUnit) {
        const fromLayer = layerOf.get(fromUnit);
        const toLayer = layerOf.get(toUnit);
        if (fromLayer === undefined) {
          if (!reportedUnplaced) context.report({ node: source, messageId: 'unplaced', data: { unit: from } });
          reportedUnplaced = true;
          return;
        }
        if (toLayer === undefined) {
          context.report({ node: source, messageId: 'unplaced', data: { unit: to } });
          return;
        }
        if (toLayer <= fromLayer) {
          const where = toLayer === fromLayer ? 'beside' : 'above';
          context.report({
            node: source,
            messageId: 'upward',
            data: { from, to, specifier, where, entry, depsFile, file },
          });
          return;
        }
      }
      if (!list) {
        if (!reportedMissing) context.report({ node: source, messageId: 'missingList', data: { from, depsFile } });
        reportedMissing = true;
        return;
      }
      if (allowed.some((allowedEntry) => covers(allowedEntry, target))) return;
      context.report({ node: source, messageId: 'notAllowed', data: { from, to, specifier, depsFile, entry, file } });
    }

    /** @param {any} node */
    const checkSource = (node) => check(node.source);
    return {
      ImportDeclaration: checkSource,
      ExportNamedDeclaration: checkSource,
      ExportAllDeclaration: checkSource,
      ImportExpression: checkSource,
      /** @param {any} node TSImportType: `import('../x.js').T` in a type position */
      TSImportType(node) {
        check(node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument);
      },
    };
  },
};

/** The local plugin eslint.config.js loads as `local`. */
const plugin = { meta: { name: 'local' }, rules: { 'folder-deps': rule } };
export default plugin;
