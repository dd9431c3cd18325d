import path from 'node:path';

/** Turns a folder name into a valid image name: lowercase, only [a-z0-9._-], starting with a letter or digit. */
export function defaultImageName(contextDir: string): string {
  const name = path
    .basename(path.resolve(contextDir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return name || 'image';
}
