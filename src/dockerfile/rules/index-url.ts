import { isValidPytorchIndex } from '../model.js';
import { UNRESOLVED } from '../text.js';
import type { DockerfileRule } from './types.js';

/** index-url-invalid: a download.pytorch.org URL that is not a wheel index (pip ignores it). */
export const indexUrlRule: DockerfileRule = {
  name: 'index-url-invalid',
  checkInstall: ({ run, install }) => {
    // index URLs
    for (const ref of [install.indexUrl, ...install.extraIndexUrls, ...install.findLinks]) {
      if (!ref || !ref.pytorch || ref.text.includes(UNRESOLVED) || isValidPytorchIndex(ref.text)) continue;
      run.add({
        category: 'index-url-invalid',
        severity: 'warning',
        position: ref.position ?? install.position,
        message: `${ref.text} is not a PyTorch wheel index (expected https://download.pytorch.org/whl[/nightly|/test]/<cu128|cpu|rocm6.4|...>). pip gets a 404 from it, ignores it, and installs the packages from PyPI instead, with whatever CUDA build PyPI has.`,
        evidence: [`index path does not match download.pytorch.org/whl/<channel>/<variant>/`],
      });
    }
  },
};
