import { describe, expect, it } from 'vitest';
import {
  buildFlavour,
  checkCompanion,
  expectedCompanion,
  majorMinor,
  pythonSupportNote,
} from '../../../src/smoke/companions.js';
import { excerpt, dockerOutput } from '../../../src/smoke/excerpt.js';
import { OUTPUT_EXCERPT_MAX_CHARS } from '../../../src/build-model/smoke-schema.js';

describe('checkCompanion', () => {
  it.each([
    ['torchvision', '2.7.1+cu126', '0.22.1+cu126', 'match'],
    ['torchvision', '2.7.0', '0.21.0', 'mismatch'],
    ['torchvision', '1.13.0a0', '0.14.1a0', 'match'],
    ['torchvision', '1.13.1', '0.15.2', 'mismatch'],
    ['torchvision', '2.3.0a0+6ddf5cf85e', '0.18.0a0', 'match'],
    ['torchvision', '2.13.0', '0.28.0', 'match'],
    // Past the table: the 0.(minor+15) pattern is accepted, anything else is unknown, never a mismatch.
    ['torchvision', '2.14.0', '0.29.0', 'match'],
    ['torchvision', '2.15.0', '0.31.0', 'unknown'],
    ['torchvision', '3.0.0', '1.0.0', 'unknown'],
    ['torchaudio', '2.7.1', '2.7.1', 'match'],
    ['torchaudio', '2.7.1', '2.6.0', 'mismatch'],
    ['torchaudio', '1.13.1', '0.13.1', 'match'],
    ['torchaudio', '2.10.0', '2.11.0', 'mismatch'],
    // torchaudio 2.11 is built on the stable ABI and serves torch 2.11 and later.
    ['torchaudio', '2.11.0', '2.11.0', 'match'],
    ['torchaudio', '2.13.0+cu130', '2.11.0+cu130', 'match'],
    ['torchaudio', '2.16.0', '2.11.0', 'match'],
    ['torchaudio', '2.12.1', '2.10.0', 'mismatch'],
    ['torchaudio', '2.12.0', '2.13.0', 'unknown'],
    ['torchvision', 'garbage', '0.1', 'unknown'],
  ] as const)('%s: torch %s with %s is %s', (kind, torch, companion, verdict) => {
    expect(checkCompanion(kind, torch, companion).verdict).toBe(verdict);
  });

  it('names the expected release in a mismatch', () => {
    expect(checkCompanion('torchvision', '2.7.1', '0.15.2').message).toMatch(/torch 2\.7 needs torchvision 0\.22\.\*/);
    expect(expectedCompanion('torchvision', '2.2.1+cpu')).toBe('0.17');
    expect(expectedCompanion('torchaudio', '2.12.0')).toBe('2.11');
    expect(expectedCompanion('torchvision', '9.9')).toBeUndefined();
  });
});

describe('version helpers', () => {
  it('reads major.minor and the wheel flavour', () => {
    expect(majorMinor('2.3.0a0+6ddf5cf85e')).toEqual([2, 3]);
    expect(majorMinor('x')).toBeUndefined();
    expect(buildFlavour('2.2.1+cpu')).toBe('cpu');
    expect(buildFlavour('2.7.1+cu126')).toBe('cuda');
    expect(buildFlavour('2.5.0+rocm6.2')).toBe('rocm');
    expect(buildFlavour('2.3.0a0+6ddf5cf')).toBeUndefined();
    expect(buildFlavour('1.13.0a0')).toBeUndefined();
  });

  it('notes a Python newer than the torch release supports', () => {
    expect(pythonSupportNote('1.13.0a0', '3.11.2')).toMatch(/torch 1\.13 supports Python up to 3\.10/);
    expect(pythonSupportNote('2.7.1', '3.12.3')).toBeUndefined();
    expect(pythonSupportNote('9.0', '3.99')).toBeUndefined();
  });
});

describe('excerpt', () => {
  it('keeps the last 20 lines and marks the cut', () => {
    const text = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n');
    const out = excerpt(text);
    expect(out.split('\n')).toHaveLength(21);
    expect(out.startsWith('…\nline 31\n')).toBe(true);
    expect(out.endsWith('line 50')).toBe(true);
  });

  it('bounds long lines to the schema limit', () => {
    const out = excerpt('x'.repeat(10_000));
    expect(out.length).toBeLessThanOrEqual(OUTPUT_EXCERPT_MAX_CHARS);
    expect(out.startsWith('…\n')).toBe(true);
    expect(excerpt('  \n')).toBe('');
    expect(excerpt('a\r\nb')).toBe('a\nb');
  });

  it('drops the docker CLI --help hint', () => {
    expect(
      dockerOutput('', "docker: Error response from daemon: boom.\nRun 'docker run --help' for more information"),
    ).toBe('docker: Error response from daemon: boom.');
  });
});
