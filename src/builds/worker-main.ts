import type { CodeBuildRunner } from '../codebuild/codebuild-runner.js';
import { loadConfig } from '../config.js';
import { DEFAULT_REGION } from '../environment/aws-probe.js';
import { ExecaProcessSpawner } from '../docker/process-spawner.js';
import { ExecaCommandRunner } from '../util/command-runner.js';
import { BuildRecordStore } from './record-store.js';
import { portsFor } from './target-ports.js';
import { runBuildWorker } from './worker.js';
import { takeWorkerBuildArgs } from './secret-checks.js';

/** The worker process's entry: runs one build to its end, then exits. Its output goes to the build's worker.log. */
export async function workerMain(buildId: string | undefined): Promise<number> {
  if (!buildId || !BuildRecordStore.isValidId(buildId)) {
    process.stderr.write(`docker-image-builder worker: invalid build id ${JSON.stringify(buildId)}\n`);
    return 2;
  }
  // Read first and removed, so no docker call or smoke container of this worker inherits them.
  const buildArgs = takeWorkerBuildArgs(process.env);
  const config = loadConfig(process.env);
  const runner = new ExecaCommandRunner();
  let codebuild: Promise<CodeBuildRunner> | undefined;
  const codebuildRunner = () =>
    (codebuild ??= import('../codebuild/codebuild-runner.js').then(({ createCodeBuildRunner }) =>
      createCodeBuildRunner({ defaultRegion: DEFAULT_REGION }),
    ));
  const store = new BuildRecordStore(config.stateDir);
  const spawner = new ExecaProcessSpawner({ onStart: (pid) => store.noteChildGroup(buildId, pid) });
  const record = await runBuildWorker(buildId, {
    store,
    ...(buildArgs ? { buildArgs } : {}),
    ports: (id, target) => portsFor(id, target, { config, env: process.env, runner, codebuildRunner, spawner }),
  });
  process.stderr.write(`docker-image-builder worker: build ${buildId} ended ${record.status}\n`);
  return 0;
}
