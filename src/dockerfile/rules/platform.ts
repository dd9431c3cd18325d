import type { Model, Stage } from '../model.js';
import type { Position } from '../text.js';
import { UNRESOLVED } from '../text.js';
import type { DockerfileRule, PlatformFacts, RuleRun } from './types.js';

/** `linux/arm64/v8` and `linux/arm64` are the same platform; so are `linux/amd64` and `linux/amd64/v1`. */
export function samePlatform(a: string, b: string): boolean {
  const norm = (platform: string) =>
    platform
      .toLowerCase()
      .replace(/^linux\/arm64\/v8$/, 'linux/arm64')
      .replace(/^linux\/amd64\/v1$/, 'linux/amd64');
  return norm(a) === norm(b);
}

/** The stages the image is made of: the final stage and the stages it is FROM, back to its base image. */
function finalChain(model: Model): Set<number> {
  const chain = new Set<number>();
  let stage: Stage | null = model.stages[model.stages.length - 1] ?? null;
  while (stage) {
    chain.add(stage.index);
    stage = stage.parent;
  }
  return chain;
}

function fixText(platform: string, image: string): string {
  return (
    `Build for ${platform} from a base that publishes ${platform} (a multi-platform tag, or pull it: ` +
    `docker pull --platform ${platform} ${image}), or set platform to the base image's platform.`
  );
}

function checkStage(run: RuleRun, facts: PlatformFacts, platform: string, stage: Stage, final: boolean): void {
  const position: Position = { file: run.dockerfile, line: stage.line, column: 1 };
  const image = stage.image.text;
  const forced = stage.platform;
  // FROM --platform=$BUILDPLATFORM is the cross-compile pattern: tools run natively, on purpose.
  if (forced && !/BUILDPLATFORM|BUILDOS|BUILDARCH/.test(forced.raw) && !samePlatform(forced.value, platform)) {
    run.add({
      category: 'platform-mismatch',
      severity: final ? 'error' : 'warning',
      position,
      message: final
        ? `FROM --platform=${forced.raw} makes the image ${forced.value}, but the build targets ${platform}: the result is not a ${platform} image, and on a ${platform} host it fails with "exec format error".`
        : `Stage ${stage.name ?? stage.index} runs as ${forced.value} (FROM --platform=${forced.raw}) while the build targets ${platform}: its RUN steps run under emulation, and binaries it makes are for ${forced.value}.`,
      evidence: [`FROM --platform=${forced.raw} on line ${stage.line}`, `build platform ${platform}`],
      fix: {
        description: final
          ? `Drop --platform from this FROM (it then follows the build's platform), or use --platform=$TARGETPLATFORM.`
          : `Use --platform=$BUILDPLATFORM for a build stage that should run natively, or $TARGETPLATFORM.`,
        edits: [],
        alternatives: [],
      },
    });
    return;
  }
  const local = facts.localImages[image];
  if (forced || !local || samePlatform(local, platform)) return;
  const asked = facts.explicit ? `the build targets ${platform}` : `the build targets ${platform} (no platform given)`;
  run.add({
    category: 'platform-mismatch',
    severity: facts.explicit ? 'error' : 'warning',
    position,
    message: `The local base image ${image} is ${local} (docker image inspect), but ${asked}: a ${platform} build either pulls another image under that name or builds on the ${local} one, whose RUN steps then need QEMU and whose programs fail on a ${platform} host with "exec format error".`,
    evidence: [`docker image inspect ${image}: ${local}`, `build platform ${platform}`],
    fix: { description: fixText(platform, image), edits: [], alternatives: [] },
  });
}

/** platform-mismatch: a base image or `FROM --platform` whose platform is not the build's. */
export const platformRule: DockerfileRule = {
  name: 'platform-mismatch',
  checkModel: (run) => {
    const facts = run.platformFacts;
    if (!facts) return;
    for (const platform of facts.platforms) {
      const model = facts.models.get(platform) ?? run.model;
      const final = finalChain(model);
      for (const stage of model.stages) {
        if (stage.parent || stage.image.text === '' || stage.image.text.includes(UNRESOLVED)) continue;
        checkStage(run, facts, platform, stage, final.has(stage.index));
      }
    }
  },
};
