import { describe, expect, it } from 'vitest';
import { ExpectedFailure, InputError, failureText } from '../../../src/util/errors.js';

describe('failureText', () => {
  it('joins message and next step with one full stop, whether or not the message ends in one', () => {
    expect(failureText(new InputError('force_local', 'cannot be set with force_codebuild.', 'Set one.'))).toBe(
      'force_local: cannot be set with force_codebuild. Set one.',
    );
    expect(failureText(new InputError('tag', 'is empty', 'Give a tag.'))).toBe('tag: is empty. Give a tag.');
    const failure = new ExpectedFailure({
      kind: 'aws-throttled',
      message: 'CodeBuild StartBuild throttled.',
      nextStep: 'Retry.',
    });
    expect(failureText(failure)).not.toContain('..');
  });
});
