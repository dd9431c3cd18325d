/**
 * The build context as a zip for CodeBuild's S3 source, streamed (no temp copy, no whole-context buffer).
 *
 * What goes in is what `docker build` would send: `.dockerignore` (or BuildKit's `<Dockerfile>.dockerignore`
 * next to the Dockerfile) applied with Docker's own matching rules — patterns relative to the context root, `!`
 * exceptions, `**`, last match wins, a directory's exclusion covering its contents, case-sensitive — except that the
 * Dockerfile and the ignore files are always included, as Docker always sends them. CodeBuild runs `docker build` on
 * the unpacked directory, which applies the same `.dockerignore` again, so COPY sees exactly what it would locally.
 *
 * The bytes are a pure function of the included paths, their contents and their executable bit: entries in sorted
 * order, a fixed DOS timestamp without the UTC extra field (identical in every time zone), modes normalised to
 * 0644/0755 (directories 0755). So the SHA-256 of the zip identifies the context, and an unchanged context need not
 * be uploaded again — see `hashContext` and `s3-upload.ts`.
 *
 * Symlinks: one that resolves outside the context is refused (InputError naming it), unless it is ignored. One
 * inside is stored as the file (or directory tree) it points to: CodeBuild's source download does not reliably
 * recreate links from a zip, while a dereferenced copy builds the same image for every COPY of a file.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Dirent, type Stats } from 'node:fs';
import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import dockerignore from '@balena/dockerignore';
import yazl from 'yazl';
import { InputError } from '../util/errors.js';
import { isInside } from '../util/context-path.js';

export interface ExtraFile {
  /** Path inside the zip, relative, `/`-separated (e.g. `Dockerfile.dib-fixed`). Replaces a context file there. */
  path: string;
  content: string | Buffer;
  /** Default 0644; pass 0o755 for a script. */
  mode?: number;
}

export interface PackageContextOptions {
  /** The build context directory. */
  contextDir: string;
  /** Dockerfile path relative to the context (default `Dockerfile`); it must be inside the context. */
  dockerfile?: string;
  /** In-memory files added to the zip, e.g. the fixed Dockerfile. */
  extraFiles?: ExtraFile[];
  /** Deflate level 0-9 (default 6). 0 stores files uncompressed: fastest, biggest upload. */
  compressionLevel?: number;
}

export interface ContextEntry {
  /** Path inside the zip (`/`-separated; directories end without a slash here). */
  path: string;
  kind: 'file' | 'directory';
  /** Bytes of the file's content (0 for directories). */
  size: number;
  /** Unix permission bits stored: 0o644 or 0o755. */
  mode: number;
  /** Where the content comes from: a file on disk (symlinks already resolved) or memory. */
  source: { file: string } | { buffer: Buffer } | undefined;
}

export interface ContextManifest {
  /** The context directory, resolved. */
  root: string;
  /** Dockerfile path relative to the context, `/`-separated. */
  dockerfile: string;
  /** Ignore file that was applied (relative path), if any. */
  ignoreFile?: string;
  /** Zip entries in the order they are written. */
  entries: ContextEntry[];
  fileCount: number;
  /** Sum of file sizes (uncompressed). */
  totalBytes: number;
  /** Paths left out by the ignore file (files, and directories that were not walked). */
  excludedCount: number;
  /** Sockets, FIFOs and devices, which a zip cannot hold (Docker would send them; builds rarely need them). */
  skippedSpecial: string[];
}

export interface ContextPackage {
  manifest: ContextManifest;
  /** The zip bytes. Consume it once; `contentHash` and `byteLength` settle when it has been read to the end. */
  stream: Readable;
  /** Hex SHA-256 of the zip bytes. */
  contentHash: Promise<string>;
  byteLength: Promise<number>;
}

/**
 * 2000-01-01 00:00:00 in local time, made when packaging starts: yazl writes local DOS time, so this gives the
 * same bytes in every time zone.
 */
function fixedMtime(): Date {
  return new Date(2000, 0, 1, 0, 0, 0);
}
const FILE_MODE = 0o100644;
const EXEC_MODE = 0o100755;
const DIR_MODE = 0o040755;

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function resolveContext(options: PackageContextOptions): Promise<{ root: string; dockerfile: string }> {
  let root: string;
  try {
    root = await realpath(options.contextDir);
  } catch {
    throw new InputError(
      'context',
      `build context ${options.contextDir} does not exist`,
      'Pass an existing directory.',
    );
  }
  if (!(await stat(root)).isDirectory()) {
    throw new InputError('context', `build context ${options.contextDir} is not a directory`, 'Pass a directory.');
  }
  const requested = options.dockerfile ?? 'Dockerfile';
  const absolute = path.resolve(root, requested);
  if (!isInside(root, absolute)) {
    throw new InputError(
      'dockerfile',
      `${requested} is outside the build context ${options.contextDir}`,
      'Move the Dockerfile into the context, or pass its content as an extra file.',
    );
  }
  let info: Stats;
  try {
    info = await stat(absolute);
  } catch {
    throw new InputError('dockerfile', `${requested} not found in ${options.contextDir}`, 'Check the Dockerfile path.');
  }
  if (!info.isFile()) throw new InputError('dockerfile', `${requested} is not a file`, 'Point at the Dockerfile.');
  const real = await realpath(absolute);
  if (!isInside(root, real)) {
    throw new InputError(
      'dockerfile',
      `${requested} is a symlink to ${real}, outside the build context`,
      'Copy the Dockerfile into the context.',
    );
  }
  return { root, dockerfile: toPosix(path.relative(root, absolute)) };
}

async function readIfFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

function validateExtraPath(p: string): string {
  const normalized = path.posix.normalize(p.replace(/\\/g, '/'));
  if (normalized === '.' || normalized.startsWith('../') || normalized === '..' || path.posix.isAbsolute(normalized)) {
    throw new InputError(
      'extraFiles',
      `extra file path ${p} must be relative and inside the context`,
      'Use a plain name.',
    );
  }
  return normalized.replace(/\/$/, '');
}

/** Walks the context and decides what goes into the zip (no file content is read here). */
export async function listContext(options: PackageContextOptions): Promise<ContextManifest> {
  const { root, dockerfile } = await resolveContext(options);
  const specific = `${dockerfile}.dockerignore`;
  const specificContent = await readIfFile(path.join(root, specific));
  const rootContent = specificContent === undefined ? await readIfFile(path.join(root, '.dockerignore')) : undefined;
  const ignoreFile = specificContent !== undefined ? specific : rootContent !== undefined ? '.dockerignore' : undefined;
  const patterns = specificContent ?? rootContent ?? '';
  // Docker matches case-sensitively on Linux; @balena/dockerignore defaults to case-insensitive.
  // (`.default`: the package is CommonJS with `module.exports.default = factory`; this form types and runs.)
  const matcher = dockerignore.default({ ignorecase: false }).add(patterns);
  const hasExceptions = patterns.split(/\r?\n/).some((line) => line.trim().startsWith('!'));
  const always = new Set([dockerfile, '.dockerignore', specific]);
  const alwaysDirs = new Set<string>();
  for (const p of always) {
    for (let dir = path.posix.dirname(p); dir !== '.'; dir = path.posix.dirname(dir)) alwaysDirs.add(dir);
  }

  const entries = new Map<string, ContextEntry>();
  const skippedSpecial: string[] = [];
  let excludedCount = 0;

  const walk = async (dirAbs: string, relDir: string, ancestors: Set<string>): Promise<void> => {
    let children: Dirent[];
    try {
      children = await readdir(dirAbs, { withFileTypes: true });
    } catch (error) {
      throw new InputError(
        'context',
        `cannot read ${relDir || '.'} in the build context: ${(error as Error).message}`,
        'Fix the permissions or add the path to .dockerignore.',
      );
    }
    children.sort((a, b) => compareBytes(a.name, b.name));
    for (const child of children) {
      const rel = relDir === '' ? child.name : `${relDir}/${child.name}`;
      const abs = path.join(dirAbs, child.name);
      const ignored = !always.has(rel) && matcher.ignores(rel);
      const mayHoldIncluded = !ignored || hasExceptions || alwaysDirs.has(rel);
      let info: Stats = await lstat(abs);
      let realDir = abs;
      if (info.isSymbolicLink()) {
        if (!mayHoldIncluded) {
          excludedCount++;
          continue;
        }
        let target: string;
        try {
          target = await realpath(abs);
        } catch {
          if (ignored) {
            excludedCount++;
            continue;
          }
          throw new InputError(
            'context',
            `symlink ${rel} in the build context points to a file that does not exist`,
            'Remove the link or add it to .dockerignore.',
          );
        }
        if (!isInside(root, target)) {
          if (ignored) {
            excludedCount++;
            continue;
          }
          throw new InputError(
            'context',
            `symlink ${rel} points outside the build context (to ${target})`,
            'Docker cannot send files outside the context: copy the target into the context, or add the link to .dockerignore.',
          );
        }
        info = await stat(abs);
        realDir = target;
      }
      if (info.isDirectory()) {
        if (!mayHoldIncluded) {
          excludedCount++;
          continue;
        }
        if (ancestors.has(realDir)) {
          throw new InputError(
            'context',
            `symlink ${rel} makes a loop in the build context`,
            'Remove the link or add it to .dockerignore.',
          );
        }
        if (!ignored) entries.set(rel, { path: rel, kind: 'directory', size: 0, mode: 0o755, source: undefined });
        const next = new Set(ancestors);
        next.add(realDir);
        await walk(abs, rel, next);
      } else if (info.isFile()) {
        if (ignored) {
          excludedCount++;
          continue;
        }
        entries.set(rel, {
          path: rel,
          kind: 'file',
          size: info.size,
          mode: (info.mode & 0o111) !== 0 ? 0o755 : 0o644,
          source: { file: abs },
        });
      } else if (!ignored) {
        skippedSpecial.push(rel);
      }
    }
  };
  await walk(root, '', new Set([root]));

  for (const extra of options.extraFiles ?? []) {
    const rel = validateExtraPath(extra.path);
    const buffer = typeof extra.content === 'string' ? Buffer.from(extra.content, 'utf8') : extra.content;
    entries.set(rel, {
      path: rel,
      kind: 'file',
      size: buffer.length,
      mode: (extra.mode ?? 0o644) & 0o111 ? 0o755 : 0o644,
      source: { buffer },
    });
  }

  const sorted = [...entries.values()].sort((a, b) => compareBytes(a.path, b.path));
  const files = sorted.filter((e) => e.kind === 'file');
  return {
    root,
    dockerfile,
    ignoreFile,
    entries: sorted,
    fileCount: files.length,
    totalBytes: files.reduce((sum, e) => sum + e.size, 0),
    excludedCount,
    skippedSpecial,
  };
}

/** Streams a zip of the manifest's entries. */
export function zipManifest(manifest: ContextManifest, compressionLevel = 6): ContextPackage {
  if (!Number.isInteger(compressionLevel) || compressionLevel < 0 || compressionLevel > 9) {
    throw new InputError(
      'compressionLevel',
      `must be an integer 0-9, got ${compressionLevel}`,
      'Use 6 (default) or 0.',
    );
  }
  const zip = new yazl.ZipFile();
  const hash = createHash('sha256');
  let bytes = 0;
  let settle: { resolve: (v: [string, number]) => void; reject: (e: Error) => void } | undefined;
  const done = new Promise<[string, number]>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      settle?.resolve([hash.digest('hex'), bytes]);
      callback();
    },
  });
  const fail = (error: Error) => {
    settle?.reject(error);
    tap.destroy(error);
  };
  zip.on('error', fail);
  tap.on('error', (error) => settle?.reject(error));
  // A consumer that gives up (destroy without error) must not leave the hash pending forever.
  tap.on('close', () => settle?.reject(new Error('the context zip stream was closed before its end')));
  (zip.outputStream as Readable).on('error', fail).pipe(tap);

  const common = { mtime: fixedMtime(), forceDosTimestamp: true };
  for (const entry of manifest.entries) {
    if (entry.kind === 'directory') {
      zip.addEmptyDirectory(entry.path, { ...common, mode: DIR_MODE });
      continue;
    }
    const mode = entry.mode === 0o755 ? EXEC_MODE : FILE_MODE;
    const source = entry.source;
    if (source !== undefined && 'buffer' in source) {
      zip.addBuffer(source.buffer, entry.path, { ...common, mode, compressionLevel });
    } else if (source !== undefined) {
      zip.addReadStreamLazy(entry.path, { ...common, mode, compressionLevel, size: entry.size }, (callback) => {
        const input = createReadStream(source.file);
        input.on('error', (error) =>
          fail(
            new InputError(
              'context',
              `cannot read ${entry.path} while packaging the build context: ${error.message}`,
              'Make sure the file is readable and not being changed during the build.',
            ),
          ),
        );
        callback(null, input);
      });
    }
  }
  zip.end();

  const contentHash = done.then(([sha]) => sha);
  const byteLength = done.then(([, n]) => n);
  // Nobody may await these when the consumer fails first; the error surfaces through the stream.
  contentHash.catch(() => undefined);
  byteLength.catch(() => undefined);
  return { manifest, stream: tap, contentHash, byteLength };
}

/** Walks the context, then returns the zip as a stream (walk errors such as an escaping symlink reject here). */
export async function packageContext(options: PackageContextOptions): Promise<ContextPackage> {
  const manifest = await listContext(options);
  return zipManifest(manifest, options.compressionLevel);
}

/**
 * Pass 1 of the two-pass upload: zips the context into a hash only (nothing buffered) and returns the SHA-256
 * that names the object in S3. Pass 2 (`packageContext` again) streams the identical bytes into the upload.
 */
export async function hashContext(
  options: PackageContextOptions,
): Promise<{ sha256: string; byteLength: number; manifest: ContextManifest }> {
  const pkg = await packageContext(options);
  pkg.stream.resume();
  const [sha256, byteLength] = await Promise.all([pkg.contentHash, pkg.byteLength]);
  return { sha256, byteLength, manifest: pkg.manifest };
}
