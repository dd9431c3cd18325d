import type { DockerfileRule } from './types.js';

/** pip-no-cache-dir: a pip or uv install that keeps its cache in the image layer. */
export const pipCacheRule: DockerfileRule = {
  name: 'pip-no-cache-dir',
  checkInstall: ({ run, install }) => {
    if (install.tool === 'conda' || install.cache.disabled) return;
    const flag = install.tool === 'uv' ? '--no-cache' : '--no-cache-dir';
    run.add({
      category: 'pip-no-cache-dir',
      severity: 'warning',
      position: install.position,
      message: `This ${install.tool === 'uv' ? 'uv pip' : 'pip'} install keeps its download and wheel cache in the image layer (${install.tool === 'uv' ? '/root/.cache/uv' : '/root/.cache/pip'}). For PyTorch that is often gigabytes of extra image size that every pull pays for.`,
      evidence: [
        `no ${flag}, no ${install.tool === 'uv' ? 'UV_NO_CACHE' : 'PIP_NO_CACHE_DIR'}, no BuildKit cache mount and no cache clean-up later in the same RUN`,
      ],
      fix: {
        description: `Add ${flag} to the install.`,
        edits: install.installWordEnd ? [{ span: install.installWordEnd, text: ` ${flag}` }] : [],
        alternatives: [
          `RUN --mount=type=cache,target=/root/.cache/${install.tool === 'uv' ? 'uv' : 'pip'} keeps the cache out of the image and speeds up rebuilds`,
        ],
      },
    });
  },
};
