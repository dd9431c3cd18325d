import { chmod, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContextWriteError, writeIntoContext } from '../../../src/util/context-write.js';
import { tempDir } from '../../support/build-fixtures.js';

async function contextWith(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('write');
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
  return dir;
}

describe('writing fixes into the user context', () => {
  it('writes a plain file atomically and keeps a backup of the original beside it', async () => {
    const dir = await contextWith({ Dockerfile: 'FROM old\n' });
    const written = await writeIntoContext(dir, 'Dockerfile', 'FROM new\n');
    expect(written).toEqual({ file: 'Dockerfile', backup: 'Dockerfile.bak' });
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toBe('FROM new\n');
    expect(await readFile(path.join(dir, 'Dockerfile.bak'), 'utf8')).toBe('FROM old\n');
  });

  it('follows a symlink to its target inside the context: the link stays a link, the target is fixed', async () => {
    const dir = await contextWith({});
    await mkdir(path.join(dir, 'docker'));
    await writeFile(path.join(dir, 'docker', 'train.Dockerfile'), 'FROM old\n');
    await symlink('docker/train.Dockerfile', path.join(dir, 'Dockerfile'));
    const written = await writeIntoContext(dir, 'Dockerfile', 'FROM new\n');
    expect(written).toEqual({ file: 'docker/train.Dockerfile', backup: 'docker/train.Dockerfile.bak' });
    expect(await readlink(path.join(dir, 'Dockerfile'))).toBe('docker/train.Dockerfile');
    expect(await readFile(path.join(dir, 'docker', 'train.Dockerfile'), 'utf8')).toBe('FROM new\n');
  });

  it('refuses a symlink that leads out of the context and leaves its target untouched', async () => {
    const outside = await contextWith({ 'secret.txt': 'keep me\n' });
    const dir = await contextWith({});
    await symlink(path.join(outside, 'secret.txt'), path.join(dir, 'Dockerfile'));
    const error = await writeIntoContext(dir, 'Dockerfile', 'FROM new\n').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContextWriteError);
    expect((error as ContextWriteError).problem).toBe('outside');
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('keep me\n');
  });

  it('refuses a read-only (0444) file unless forced, and keeps its mode when forced', async () => {
    const dir = await contextWith({ Dockerfile: 'FROM old\n' });
    await chmod(path.join(dir, 'Dockerfile'), 0o444);
    const error = await writeIntoContext(dir, 'Dockerfile', 'FROM new\n').catch((caught: unknown) => caught);
    expect((error as ContextWriteError).problem).toBe('read-only');
    expect((error as ContextWriteError).message).toContain('mode 0444');
    expect((error as ContextWriteError).nextStep).toContain('force_write');
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toBe('FROM old\n');

    await writeIntoContext(dir, 'Dockerfile', 'FROM new\n', { force: true });
    expect(await readFile(path.join(dir, 'Dockerfile'), 'utf8')).toBe('FROM new\n');
    expect((await stat(path.join(dir, 'Dockerfile'))).mode & 0o777).toBe(0o444);
  });

  it('reports a missing file as an io problem with its errno', async () => {
    const dir = await contextWith({});
    const error = (await writeIntoContext(dir, 'Dockerfile', 'x').catch(
      (caught: unknown) => caught,
    )) as ContextWriteError;
    expect(error.problem).toBe('io');
    expect(error.code).toBe('ENOENT');
  });
});
