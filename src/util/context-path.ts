import { realpathSync } from 'node:fs';
import { InputError } from './errors.js';
import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** True when `candidate` is `root` or lies below it (both absolute; compare real paths for symlink safety). */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Where a file of the build context really is: `relPath` (relative to `contextDir`) followed through symlinks.
 * `outside` when the name or its real path leaves the context's real path (a `Dockerfile -> /etc/shadow` link),
 * `missing` when it cannot be resolved. The one check behind analyze_dockerfile, build_image and the fixes.
 */
export type ContextPath =
  { ok: true; real: string } | { ok: false; reason: 'outside'; real?: string } | { ok: false; reason: 'missing' };

function judge(contextDir: string, relPath: string, resolve: (p: string) => string): ContextPath {
  const absolute = path.resolve(contextDir, relPath);
  if (!isInside(path.resolve(contextDir), absolute)) return { ok: false, reason: 'outside' };
  let root: string;
  let real: string;
  try {
    root = resolve(contextDir);
    real = resolve(absolute);
  } catch {
    return { ok: false, reason: 'missing' };
  }
  return isInside(root, real) ? { ok: true, real } : { ok: false, reason: 'outside', real };
}

export function contextPathSync(contextDir: string, relPath: string): ContextPath {
  return judge(contextDir, relPath, (p) => realpathSync(p));
}

export async function contextPath(contextDir: string, relPath: string): Promise<ContextPath> {
  const absolute = path.resolve(contextDir, relPath);
  if (!isInside(path.resolve(contextDir), absolute)) return { ok: false, reason: 'outside' };
  try {
    const [root, real] = await Promise.all([realpath(contextDir), realpath(absolute)]);
    return isInside(root, real) ? { ok: true, real } : { ok: false, reason: 'outside', real };
  } catch {
    return { ok: false, reason: 'missing' };
  }
}

/** The refusal for a context file whose name or real path leaves the context (the field is usually `dockerfile`). */
export function outsideContextError(field: string, name: string, real?: string): InputError {
  return new InputError(
    field,
    `${name} ${real ? `resolves to ${real}, which is` : 'is'} outside the build context`,
    'Keep the file inside the context: copy it there instead of linking to it, and pass its path relative to the context.',
  );
}
