import { InputError } from './errors.js';

/** `os/arch[/variant]`, lowercase, as docker and the OCI image spec write it (`linux/amd64`, `linux/arm/v7`). */
const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?$/;
/** More would make one build run for hours under emulation; docker itself has no limit. */
export const MAX_PLATFORMS = 8;

/**
 * The platforms of a `platform` input: one string, a comma list (`linux/amd64,linux/arm64`, docker's own syntax) or
 * a list of either. Each is checked; repeats are dropped, the order kept (the first is the one `name:tag` names
 * when the engine builds one platform per build).
 */
export function parsePlatforms(value: string | readonly string[] | undefined, field = 'platform'): string[] {
  if (value === undefined) return [];
  const entries = (typeof value === 'string' ? [value] : [...value])
    .flatMap((entry) => entry.split(','))
    .map((entry) => entry.trim());
  const platforms: string[] = [];
  for (const entry of entries) {
    if (!PLATFORM.test(entry)) {
      throw new InputError(
        field,
        entry === '' ? 'has an empty entry' : `"${entry}" is not a platform`,
        'Use os/arch[/variant] for each platform, e.g. "linux/amd64" or "linux/amd64,linux/arm64".',
      );
    }
    if (!platforms.includes(entry)) platforms.push(entry);
  }
  if (platforms.length > MAX_PLATFORMS) {
    throw new InputError(field, `names ${platforms.length} platforms`, `Build at most ${MAX_PLATFORMS} at once.`);
  }
  return platforms;
}
