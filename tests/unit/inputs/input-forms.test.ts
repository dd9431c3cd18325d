import { describe, expect, it } from 'vitest';
import { buildImageInputs } from '../../../src/inputs/build-image.js';
import { detectEnvironmentInputs } from '../../../src/inputs/detect-environment.js';
import { smokeTestInputs } from '../../../src/inputs/smoke-test.js';
import { quoted, shellLine, shellQuote } from '../../../src/util/quoted.js';

/** The error an agent reads for `input`, or undefined when the input is accepted. */
function refusal(
  schema: { safeParse(input: unknown): { success: boolean; error?: { issues: { message: string }[] } } },
  input: unknown,
) {
  const result = schema.safeParse(input);
  return result.success ? undefined : result.error?.issues.map((issue) => issue.message).join('\n');
}

describe('inputs Docker or AWS would refuse are refused when the call arrives, naming their own field', () => {
  it.each([
    [{ smoke_commands: [' '] }, /^smoke_commands has an entry " " that is not in the expected form\. .*not blank/],
    [{ smoke_commands: ['echo\u0000x'] }, /^smoke_commands has an entry "echo\\u0000x"/],
    [
      { base_image: 'debian: bookworm' },
      /^base_image "debian: bookworm" is not in the expected form\. base_image: an image reference/,
    ],
    [{ image_tag: 'has space' }, /^image_tag "has space" is not in the expected form\. image_tag: a tag of letters/],
    [{ image_tag: '-dash' }, /^image_tag /],
    [{ image_name: 'Upper/Case' }, /^image_name "Upper\/Case" is not in the expected form/],
    [{ target: '1stage' }, /^target /],
    [
      { region: 'mars-1' },
      /^region "mars-1" is not in the expected form\. region: an AWS region code, e.g. "us-west-2"/,
    ],
    [
      { codebuild_project: 'nope$(touch /tmp/x)' },
      /^codebuild_project "nope\$\(touch \/tmp\/x\)" is not in the expected form/,
    ],
    [{ s3_bucket: 'My_Bucket' }, /^s3_bucket /],
    [{ s3_bucket: 'a..b' }, /^s3_bucket /],
    [{ context: 'dir\u0000' }, /^context /],
  ])('build_image %j', (input, message) => {
    expect(refusal(buildImageInputs.schema, input)).toMatch(message);
  });

  it('accepts the forms users really give', () => {
    expect(
      refusal(buildImageInputs.schema, {
        image_name: '127.0.0.1:5000/team/fsdp-train',
        image_tag: 'v1.2_rc-3',
        base_image: 'pytorch/pytorch:2.7.1-cuda12.6-cudnn9-runtime',
        target: 'Runtime',
        region: 'us-gov-west-1',
        codebuild_project: 'pytorch-fsdp',
        s3_bucket: 'my-team.build-sources',
        smoke_commands: ['python3 -c "import torch"'],
      }),
    ).toBeUndefined();
    expect(refusal(smokeTestInputs.schema, { image: `sha256:${'a'.repeat(64)}` })).toBeUndefined();
    expect(refusal(detectEnvironmentInputs.schema, { region: 'eu-central-1' })).toBeUndefined();
  });

  it('echoes at most a bounded, escaped excerpt of a huge or odd value', () => {
    const message = refusal(buildImageInputs.schema, { image_tag: `${'x'.repeat(1 << 20)} ` }) ?? '';
    expect(message.length).toBeLessThan(600);
    expect(message).toContain('(1048577 characters)');
    expect(quoted('a\u009bb\u202ec')).toBe('"a\\u009bb\\u202ec"');
  });
});

describe('commands a next step suggests are shell-quoted', () => {
  it('leaves plain words bare and single-quotes the rest, so pasting runs nothing', () => {
    expect(shellQuote('pytorch-fsdp')).toBe('pytorch-fsdp');
    expect(shellQuote("nope$(touch /tmp/x)'s")).toBe(`'nope$(touch /tmp/x)'\\''s'`);
    expect(shellLine('docker-image-builder', '--project-name', 'a b')).toBe(
      "docker-image-builder --project-name 'a b'",
    );
  });
});
