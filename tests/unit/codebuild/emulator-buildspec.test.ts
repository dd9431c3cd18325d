/** The AWS emulator's buildspec reader (YAML subset / JSON): it must read what the product generates exactly. */
import { describe, expect, it } from 'vitest';
import { parseBuildspec, parseYamlSubset } from '../../support/aws-emulator/buildspec.js';

describe('parseYamlSubset', () => {
  it('reads nested mappings, sequences and scalars', () => {
    const doc = parseYamlSubset(
      [
        'version: 0.2',
        '# comment',
        'env:',
        '  variables:',
        '    IMAGE: "fsdp:latest"   # trailing comment',
        "    QUOTED: 'it''s'",
        '    EMPTY:',
        '    HASH: a#b',
        'phases:',
        '  build:',
        '    commands:',
        '      - echo one',
        '      - "echo \\"two\\""',
        '      - echo three # not part of the command',
        '  post_build:',
        '    commands:',
        '    - echo same-indent dash',
      ].join('\n'),
    );
    expect(doc).toEqual({
      version: '0.2',
      env: { variables: { IMAGE: 'fsdp:latest', QUOTED: "it's", EMPTY: null, HASH: 'a#b' } },
      phases: {
        build: { commands: ['echo one', 'echo "two"', 'echo three'] },
        post_build: { commands: ['echo same-indent dash'] },
      },
    });
  });

  it('reads literal and folded block scalars with chomping', () => {
    const doc = parseYamlSubset(
      [
        'script: |',
        '  if true; then',
        '    echo nested',
        '  fi',
        'strip: |-',
        '  no newline',
        'folded: >',
        '  one',
        '  two',
        '',
        '  three',
        'list:',
        '  - |',
        '    multi',
        '    line',
        '  - after',
      ].join('\n'),
    );
    expect(doc).toEqual({
      script: 'if true; then\n  echo nested\nfi\n',
      strip: 'no newline',
      folded: 'one two\nthree\n',
      list: ['multi\nline\n', 'after'],
    });
  });

  it('reads flow collections, sequences of mappings and JSON', () => {
    expect(parseYamlSubset('a: [x, "y z", 3]\nb: {k: v, n: 1}\n')).toEqual({
      a: ['x', 'y z', '3'],
      b: { k: 'v', n: '1' },
    });
    expect(parseYamlSubset('items:\n  - name: a\n    value: 1\n  - name: b\n')).toEqual({
      items: [{ name: 'a', value: '1' }, { name: 'b' }],
    });
    expect(parseYamlSubset('{"version": 0.2, "phases": {"build": {"commands": ["ls"]}}}')).toEqual({
      version: 0.2,
      phases: { build: { commands: ['ls'] } },
    });
  });

  it('treats a mid-scalar quote as a literal character, as YAML does', () => {
    expect(parseYamlSubset('cmd: echo "a # b"')).toEqual({ cmd: 'echo "a' });
  });

  it('refuses what it does not understand instead of misreading it', () => {
    expect(() => parseYamlSubset('a: &anchor 1\nb: *anchor\n')).toThrow(/anchors/);
    expect(() => parseYamlSubset('a: 1\n---\nb: 2\n')).toThrow(/multiple documents/);
    expect(() => parseYamlSubset('a:\n\t- x\n')).toThrow(/tabs/);
    expect(() => parseYamlSubset('a: "open\n')).toThrow(/unterminated/);
  });
});

describe('parseBuildspec', () => {
  it('returns phases in CodeBuild terms with defaults', () => {
    const spec = parseBuildspec(
      'version: 0.2\nenv:\n  shell: bash\n  variables:\n    N: 1\nphases:\n  build:\n    on-failure: CONTINUE\n    commands:\n      - make\n    finally:\n      - echo done\n',
    );
    expect(spec).toEqual({
      version: '0.2',
      shell: 'bash',
      variables: { N: '1' },
      phases: { build: { commands: ['make'], finally: ['echo done'], onFailure: 'CONTINUE' } },
    });
  });

  it('rejects bad versions, unknown phases and unsupported secrets', () => {
    expect(() => parseBuildspec('version: 0.3\n')).toThrow(/version/);
    expect(() => parseBuildspec('version: 0.2\nphases:\n  compile:\n    commands: [ls]\n')).toThrow(/unknown phase/);
    expect(() => parseBuildspec('version: 0.2\nenv:\n  secrets-manager:\n    A: b\n')).toThrow(/not supported/);
    expect(() => parseBuildspec('version: 0.2\nphases:\n  build:\n    commands: ls\n')).toThrow(/must be a list/);
  });
});
