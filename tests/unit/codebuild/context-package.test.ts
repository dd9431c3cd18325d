import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import {
  hashContext,
  listContext,
  packageContext,
  type PackageContextOptions,
} from '../../../src/codebuild/context-package.js';
import { InputError } from '../../../src/util/errors.js';

type Tree = Record<string, string | { content: string; mode?: number } | { symlink: string } | { dir: true }>;

const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function makeTree(tree: Tree): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'dib-ctx-'));
  cleanup.push(root);
  for (const [rel, spec] of Object.entries(tree)) {
    const abs = path.join(root, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    if (typeof spec === 'string') await writeFile(abs, spec);
    else if ('symlink' in spec) await symlink(spec.symlink, abs);
    else if ('dir' in spec) await mkdir(abs, { recursive: true });
    else {
      await writeFile(abs, spec.content);
      if (spec.mode !== undefined) await chmod(abs, spec.mode);
    }
  }
  return root;
}

async function zipBytes(options: PackageContextOptions): Promise<{ bytes: Buffer; hash: string }> {
  const pkg = await packageContext(options);
  const chunks: Buffer[] = [];
  for await (const chunk of pkg.stream) chunks.push(chunk as Buffer);
  return { bytes: Buffer.concat(chunks), hash: await pkg.contentHash };
}

interface ZipEntryInfo {
  name: string;
  mode: number;
  content?: string;
  modified: Date;
}

async function readZip(bytes: Buffer): Promise<ZipEntryInfo[]> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true });
  const out: ZipEntryInfo[] = [];
  for await (const entry of zip.eachEntry()) {
    const info: ZipEntryInfo = {
      name: entry.fileName,
      mode: entry.externalFileAttributes >>> 16,
      modified: entry.getLastModDate(),
    };
    if (!entry.fileName.endsWith('/')) {
      const stream = await zip.openReadStreamPromise(entry);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      info.content = Buffer.concat(chunks).toString('utf8');
    }
    out.push(info);
  }
  zip.close();
  return out;
}

async function names(options: PackageContextOptions): Promise<string[]> {
  return (await readZip((await zipBytes(options)).bytes)).map((e) => e.name);
}

describe('packageContext: determinism', () => {
  const tree: Tree = {
    Dockerfile: 'FROM scratch\nCOPY . /app\n',
    'src/main.py': 'print("hi")\n',
    'src/util/helpers.py': 'X = 1\n',
    'run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o775 },
    'a.txt': 'a',
    'b/.keep': '',
  };

  it('gives the same bytes twice, whatever the mtimes, and the hash is the SHA-256 of the bytes', async () => {
    const root = await makeTree(tree);
    const first = await zipBytes({ contextDir: root });
    await utimes(path.join(root, 'src/main.py'), new Date('2011-03-04T05:06:07Z'), new Date('2011-03-04T05:06:07Z'));
    await utimes(path.join(root, 'a.txt'), new Date(), new Date());
    const second = await zipBytes({ contextDir: root });
    expect(second.bytes.equals(first.bytes)).toBe(true);
    expect(first.hash).toBe(createHash('sha256').update(first.bytes).digest('hex'));
    expect(second.hash).toBe(first.hash);
    const hashed = await hashContext({ contextDir: root });
    expect(hashed.sha256).toBe(first.hash);
    expect(hashed.byteLength).toBe(first.bytes.length);
  });

  it('gives the same bytes for a copy of the context in another directory', async () => {
    const a = await makeTree(tree);
    const b = await makeTree(tree);
    expect((await zipBytes({ contextDir: b })).hash).toBe((await zipBytes({ contextDir: a })).hash);
  });

  it('gives the same bytes in another time zone', async () => {
    const root = await makeTree(tree);
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Asia/Tokyo';
      const tokyo = await zipBytes({ contextDir: root });
      process.env.TZ = 'America/Los_Angeles';
      const la = await zipBytes({ contextDir: root });
      expect(la.hash).toBe(tokyo.hash);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('changes the hash when a file content or its executable bit changes', async () => {
    const root = await makeTree(tree);
    const before = (await zipBytes({ contextDir: root })).hash;
    await chmod(path.join(root, 'a.txt'), 0o755);
    const afterChmod = (await zipBytes({ contextDir: root })).hash;
    expect(afterChmod).not.toBe(before);
    await writeFile(path.join(root, 'a.txt'), 'A');
    expect((await zipBytes({ contextDir: root })).hash).not.toBe(afterChmod);
  });

  it('writes sorted entries with a fixed timestamp and normalised modes', async () => {
    const root = await makeTree(tree);
    await chmod(path.join(root, 'src/main.py'), 0o600);
    const entries = await readZip((await zipBytes({ contextDir: root })).bytes);
    expect(entries.map((e) => e.name)).toEqual([
      'Dockerfile',
      'a.txt',
      'b/',
      'b/.keep',
      'run.sh',
      'src/',
      'src/main.py',
      'src/util/',
      'src/util/helpers.py',
    ]);
    for (const entry of entries) expect(entry.modified.getTime()).toBe(new Date(2000, 0, 1).getTime());
    const modeOf = (name: string) => (entries.find((e) => e.name === name)?.mode ?? 0).toString(8);
    expect(modeOf('run.sh')).toBe('100755');
    expect(modeOf('src/main.py')).toBe('100644');
    expect(modeOf('src/')).toBe('40755');
    expect(entries.find((e) => e.name === 'src/main.py')?.content).toBe('print("hi")\n');
  });

  it('stores files uncompressed with compressionLevel 0 and still round-trips', async () => {
    const root = await makeTree(tree);
    const stored = await zipBytes({ contextDir: root, compressionLevel: 0 });
    const entries = await readZip(stored.bytes);
    expect(entries.find((e) => e.name === 'run.sh')?.content).toBe('#!/bin/sh\necho run\n');
    expect(stored.hash).not.toBe((await zipBytes({ contextDir: root })).hash);
  });
});

describe('packageContext: .dockerignore as Docker applies it', () => {
  it('handles root-relative patterns, **, directories, exceptions, comments and case', async () => {
    const root = await makeTree({
      Dockerfile: 'FROM scratch\n',
      '.dockerignore': [
        '# a comment line',
        '*.log',
        'node_modules',
        'build/',
        '**/*.tmp',
        'docs/**',
        '!docs/keep.md',
        '/abs.txt',
        'readme.md',
        '',
        '  spaced.txt  ',
      ].join('\n'),
      'app.py': 'x',
      'debug.log': 'x',
      'sub/trace.log': 'x', // `*.log` is root-only in Docker (unlike .gitignore)
      'node_modules/pkg/index.js': 'x',
      'build/out.bin': 'x',
      'x.tmp': 'x',
      'a/b/c/x.tmp': 'x',
      'a/b/c/keep.txt': 'x',
      'docs/a.md': 'x',
      'docs/keep.md': 'x',
      'docs/sub/z.md': 'x',
      'abs.txt': 'x',
      'README.md': 'x', // pattern `readme.md` must not match: Docker is case-sensitive on Linux
      'spaced.txt': 'x',
      'empty-dir': { dir: true },
    });
    expect(await names({ contextDir: root })).toEqual([
      '.dockerignore',
      'Dockerfile',
      'README.md',
      'a/',
      'a/b/',
      'a/b/c/',
      'a/b/c/keep.txt',
      'app.py',
      'docs/',
      'docs/keep.md',
      'empty-dir/',
      'sub/',
      'sub/trace.log',
    ]);
    const manifest = await listContext({ contextDir: root });
    expect(manifest.ignoreFile).toBe('.dockerignore');
    expect(manifest.fileCount).toBe(7);
  });

  it('re-includes a file under an excluded directory with an exception', async () => {
    const root = await makeTree({
      Dockerfile: 'FROM scratch\n',
      '.dockerignore': 'vendor\n!vendor/keep/**\n',
      'vendor/drop.txt': 'x',
      'vendor/keep/one.txt': 'x',
      'vendor/keep/deep/two.txt': 'x',
    });
    expect(await names({ contextDir: root })).toEqual([
      '.dockerignore',
      'Dockerfile',
      'vendor/keep/deep/',
      'vendor/keep/deep/two.txt',
      'vendor/keep/one.txt',
    ]);
  });

  it('lets the last matching pattern win', async () => {
    const root = await makeTree({
      Dockerfile: 'FROM scratch\n',
      '.dockerignore': '*.txt\n!important.txt\nimportant.txt\n!also.txt\n',
      'important.txt': 'x',
      'also.txt': 'x',
      'other.txt': 'x',
    });
    expect(await names({ contextDir: root })).toEqual(['.dockerignore', 'Dockerfile', 'also.txt']);
  });

  it('always sends the Dockerfile and .dockerignore, even when ignored', async () => {
    const root = await makeTree({
      Dockerfile: 'FROM scratch\n',
      '.dockerignore': '*\n',
      'app.py': 'x',
      'dir/file': 'x',
    });
    expect(await names({ contextDir: root })).toEqual(['.dockerignore', 'Dockerfile']);
  });

  it('finds a Dockerfile inside an ignored directory', async () => {
    const root = await makeTree({
      'docker/Dockerfile': 'FROM scratch\n',
      '.dockerignore': 'docker\n',
      'docker/other': 'x',
      'app.py': 'x',
    });
    expect(await names({ contextDir: root, dockerfile: 'docker/Dockerfile' })).toEqual([
      '.dockerignore',
      'app.py',
      'docker/Dockerfile',
    ]);
  });

  it('prefers <Dockerfile>.dockerignore next to the Dockerfile (BuildKit)', async () => {
    const root = await makeTree({
      'build/app.Dockerfile': 'FROM scratch\n',
      'build/app.Dockerfile.dockerignore': 'secret.txt\n',
      '.dockerignore': 'app.py\n',
      'app.py': 'x',
      'secret.txt': 'x',
    });
    const listed = await names({ contextDir: root, dockerfile: 'build/app.Dockerfile' });
    expect(listed).toContain('app.py');
    expect(listed).not.toContain('secret.txt');
    expect((await listContext({ contextDir: root, dockerfile: 'build/app.Dockerfile' })).ignoreFile).toBe(
      'build/app.Dockerfile.dockerignore',
    );
  });
});

describe('packageContext: extra files, symlinks and errors', () => {
  it('adds in-memory files (the fixed Dockerfile) and lets them replace context files', async () => {
    const root = await makeTree({ Dockerfile: 'FROM scratch\n', 'notes.txt': 'old' });
    const entries = await readZip(
      (
        await zipBytes({
          contextDir: root,
          extraFiles: [
            { path: 'Dockerfile.dib-fixed', content: 'FROM scratch\n# fixed\n' },
            { path: 'notes.txt', content: Buffer.from('new') },
          ],
        })
      ).bytes,
    );
    expect(entries.map((e) => e.name)).toEqual(['Dockerfile', 'Dockerfile.dib-fixed', 'notes.txt']);
    expect(entries.find((e) => e.name === 'Dockerfile.dib-fixed')?.content).toBe('FROM scratch\n# fixed\n');
    expect(entries.find((e) => e.name === 'notes.txt')?.content).toBe('new');
  });

  it('refuses extra files outside the context', async () => {
    const root = await makeTree({ Dockerfile: 'FROM scratch\n' });
    await expect(packageContext({ contextDir: root, extraFiles: [{ path: '../x', content: '' }] })).rejects.toThrow(
      InputError,
    );
  });

  it('refuses a symlink that escapes the context, naming it', async () => {
    const outside = await makeTree({ 'secret.txt': 'top secret' });
    const root = await makeTree({
      Dockerfile: 'FROM scratch\n',
      'config/creds': { symlink: path.join(outside, 'secret.txt') },
    });
    const error = await packageContext({ contextDir: root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('context');
    expect((error as InputError).message).toContain('config/creds');
    expect((error as InputError).message).toContain('outside the build context');
    expect((error as InputError).hint).toMatch(/dockerignore/);
  });

  it('refuses a relative ../ symlink escaping the context too, but not when it is ignored', async () => {
    const root = await makeTree({ Dockerfile: 'FROM scratch\n', up: { symlink: '../..' } });
    await expect(packageContext({ contextDir: root })).rejects.toThrow(/up points outside the build context/);
    await writeFile(path.join(root, '.dockerignore'), 'up\n');
    expect(await names({ contextDir: root })).toEqual(['.dockerignore', 'Dockerfile']);
  });

  it('stores symlinks inside the context as the content they point to', async () => {
    const root = await makeTree({
      Dockerfile: 'FROM scratch\n',
      'real/data.txt': 'payload',
      'link.txt': { symlink: 'real/data.txt' },
      linkdir: { symlink: 'real' },
    });
    const entries = await readZip((await zipBytes({ contextDir: root })).bytes);
    expect(entries.map((e) => e.name)).toEqual([
      'Dockerfile',
      'link.txt',
      'linkdir/',
      'linkdir/data.txt',
      'real/',
      'real/data.txt',
    ]);
    expect(entries.find((e) => e.name === 'link.txt')?.content).toBe('payload');
    expect(entries.find((e) => e.name === 'linkdir/data.txt')?.content).toBe('payload');
  });

  it('refuses a symlink loop and a dangling symlink', async () => {
    const loop = await makeTree({ Dockerfile: 'FROM scratch\n', 'a/self': { symlink: '..' } });
    await expect(packageContext({ contextDir: loop })).rejects.toThrow(/a\/self makes a loop/);
    const dangling = await makeTree({ Dockerfile: 'FROM scratch\n', ghost: { symlink: 'missing.txt' } });
    await expect(packageContext({ contextDir: dangling })).rejects.toThrow(/ghost .*does not exist/);
  });

  it('refuses a missing context, a missing Dockerfile and a Dockerfile outside the context', async () => {
    const root = await makeTree({ 'app.py': 'x' });
    await expect(packageContext({ contextDir: path.join(root, 'nope') })).rejects.toMatchObject({ field: 'context' });
    await expect(packageContext({ contextDir: root })).rejects.toMatchObject({ field: 'dockerfile' });
    await expect(packageContext({ contextDir: root, dockerfile: '../Dockerfile' })).rejects.toMatchObject({
      field: 'dockerfile',
    });
  });
});
