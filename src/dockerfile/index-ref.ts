import type { IndexRef } from './model.js';
import { firstSource, type MStr, type SourceSet } from './text.js';

const PYTORCH_INDEX =
  /^https?:\/\/download\.pytorch\.org\/(whl)(?:\/(nightly|test))?(?:\/(cu\d+|cpu(?:-cxx11-abi)?|rocm\d+(?:\.\d+)*|xpu))?\/?(?:torch_stable\.html|torch_test\.html|torch_nightly\.html)?\/?$/;

export function indexRef(url: MStr, sources: SourceSet, viaFile: string | null): IndexRef {
  const text = url.text;
  const pytorch = /^https?:\/\/download\.pytorch\.org\//.test(text);
  const match = PYTORCH_INDEX.exec(text);
  const variantMatch = /download\.pytorch\.org\/whl\/(?:(?:nightly|test)\/)?(cu\d+|cpu|rocm[\d.]+|xpu)(?:\/|$)/.exec(
    text,
  );
  const channel = pytorch ? (match?.[2] ?? /\/whl\/(nightly|test)\//.exec(text)?.[1] ?? 'release') : null;
  const first = firstSource(url);
  return {
    url,
    text,
    position: first === undefined ? null : sources.position(first),
    variant: variantMatch?.[1] ?? null,
    channel,
    pytorch,
    pypi: /^https?:\/\/(pypi\.org|pypi\.python\.org|files\.pythonhosted\.org)\//.test(text),
    viaFile,
  };
}

/** Whether an index URL at download.pytorch.org has a path pip can use. */
export function isValidPytorchIndex(text: string): boolean {
  return PYTORCH_INDEX.test(text);
}
