/**
 * Smoke results of a CodeBuild build, read back from its log: the buildspec runs the local smoke tester's probe
 * (without GPU checks) and the smoke commands in the build container, and marks where each starts and ends. The
 * result has the local smoke tester's shape (`SmokeResult`), so build_image reports both the same way.
 */
import { excerpt } from '../smoke/excerpt.js';
import { parseProbeOutput } from '../smoke/probe-script.js';
import type { SmokeCheck, SmokeResult } from '../build-model/smoke-schema.js';
import { parseMarker } from './buildspec.js';

/** Collects the smoke part of a build log, line by line. */
export class RemoteSmokeCollector {
  private probeLines: string[] = [];
  private inProbe = false;
  private probeStatus: { status: string; reason?: string; exit?: string } | undefined;
  private readonly commands = new Map<number, { lines: string[]; exit?: number; skipped?: boolean }>();
  private currentCommand: number | undefined;
  private started = false;

  /** Feed every log line (markers included). */
  push(line: string): void {
    const marker = parseMarker(line);
    if (marker !== undefined) {
      switch (marker.kind) {
        case 'smoke-start':
          this.started = true;
          this.inProbe = true;
          return;
        case 'smoke-probe': {
          this.inProbe = false;
          const status = marker.fields['status'] ?? 'failed';
          const reason = marker.fields['reason'];
          const exit = marker.fields['exit'];
          this.probeStatus = {
            status,
            ...(reason === undefined ? {} : { reason }),
            ...(exit === undefined ? {} : { exit }),
          };
          if (reason !== 'build-failed') this.started = true;
          return;
        }
        case 'smoke-command-start': {
          const n = Number(marker.fields['n']);
          this.started = true;
          this.currentCommand = n;
          this.commands.set(n, { lines: [] });
          return;
        }
        case 'smoke-command-end': {
          const n = Number(marker.fields['n']);
          const entry = this.commands.get(n) ?? { lines: [] };
          if (marker.fields['status'] === 'skipped') entry.skipped = true;
          else entry.exit = Number(marker.fields['exit'] ?? 1);
          this.commands.set(n, entry);
          this.currentCommand = undefined;
          return;
        }
        default:
          return;
      }
    }
    if (this.inProbe) this.probeLines.push(line);
    else if (this.currentCommand !== undefined) this.commands.get(this.currentCommand)?.lines.push(line);
  }

  /** Whether any smoke check ran (false when smoke tests were off or the image did not build). */
  get ran(): boolean {
    return this.started;
  }

  /** True/false once the probe and commands have reported; undefined when they did not run. */
  get passed(): boolean | undefined {
    if (!this.started) return undefined;
    return this.result('').passed;
  }

  result(image: string): SmokeResult {
    const probe = parseProbeOutput(this.probeLines.join('\n'));
    const checks: SmokeCheck[] = [];
    const notes = ['Ran inside the CodeBuild build container, which has no GPU: the CUDA checks were not run.'];
    const reason = this.probeStatus?.reason;
    if (this.probeStatus !== undefined && reason !== 'build-failed') {
      const failed = reason === 'container-failed';
      checks.push({
        name: 'container-starts',
        status: failed ? 'failed' : 'passed',
        duration_ms: 0,
        output_excerpt: failed ? excerpt(this.probeLines.join('\n')) : '',
        detail: failed
          ? `docker run could not start the image in the build container (exit ${this.probeStatus.exit ?? '?'}).`
          : reason === 'no-sh'
            ? 'The container started; the image has no sh, so the PyTorch probe and smoke commands cannot run.'
            : 'The container started.',
      });
    }
    if (reason === 'no-sh') {
      notes.push('Skipped the PyTorch checks: the image has no sh to look for python with.');
    } else if (reason === 'no-python') {
      notes.push('Skipped the PyTorch checks: the image has no sh with python3 or python.');
    } else if (reason === 'no-torch') {
      notes.push('Skipped the PyTorch checks: torch is not installed in the image.');
    } else if (reason === 'build-failed') {
      notes.push('Smoke checks did not run: the image did not build.');
    }
    if (reason !== 'no-torch') {
      for (const check of probe.checks) {
        checks.push({
          name: check.name,
          status: check.status,
          duration_ms: check.duration_ms,
          output_excerpt: excerpt(check.output),
          ...(check.error === undefined ? {} : { detail: check.error }),
        });
      }
    }
    if (
      this.probeStatus?.status === 'failed' &&
      reason !== 'container-failed' &&
      !checks.some((c) => c.status === 'failed')
    ) {
      checks.push({
        name: 'torch-import',
        status: 'failed',
        duration_ms: 0,
        output_excerpt: excerpt(this.probeLines.join('\n')),
        detail: probe.done
          ? 'The PyTorch probe reported a failure.'
          : 'The PyTorch probe did not finish (crashed or timed out) inside the image.',
      });
    }
    for (const [n, command] of [...this.commands.entries()].sort((a, b) => a[0] - b[0])) {
      const status = command.skipped ? 'skipped' : command.exit === 0 ? 'passed' : 'failed';
      checks.push({
        name: `command-${n}`,
        status,
        duration_ms: 0,
        output_excerpt: excerpt(command.lines.join('\n')),
        ...(status === 'failed' ? { detail: `The command exited with code ${command.exit ?? 'unknown'}.` } : {}),
      });
    }
    const data = (name: string) => probe.checks.find((c) => c.name === name)?.data ?? {};
    const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
    const torchVersion = text(data('torch-import')['version']);
    const torchvision = text(data('torchvision-import')['version']);
    const torchaudio = text(data('torchaudio-import')['version']);
    const cuda = text(data('torch-import')['cuda']);
    return {
      image,
      passed: !checks.some((c) => c.status === 'failed'),
      checks,
      gpu_runtime: false,
      ...(probe.info?.executable === undefined ? {} : { python: probe.info.executable }),
      ...(probe.info?.python_version === undefined ? {} : { python_version: probe.info.python_version }),
      ...(torchVersion === undefined ? {} : { torch_version: torchVersion }),
      ...(torchvision === undefined ? {} : { torchvision_version: torchvision }),
      ...(torchaudio === undefined ? {} : { torchaudio_version: torchaudio }),
      ...(cuda === undefined ? {} : { cuda_version: cuda }),
      container_names: [],
      duration_ms: checks.reduce((sum, c) => sum + c.duration_ms, 0),
      notes,
    };
  }
}
