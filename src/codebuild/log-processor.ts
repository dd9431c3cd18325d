/**
 * The CodeBuild log, line by line, turned into the attempt's events and log file.
 *
 * CloudWatch delivers CodeBuild's output: the agent's `[Container] ...` lines and the commands' output. The buildspec
 * (buildspec.ts) marks the `docker build` part, whose lines go through the local builder's output parser (BuildKit
 * or legacy, as the marker says), so step events and the failed step come out as for a local build. Other lines
 * become plain `log` events. CodeBuild echoes each multi-line command whole (`Running command ...`, `Command did
 * not exit successfully ...`); only the first line — the step's name — is kept, so the log holds the build's output,
 * not the script.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { BuildEvent } from '../build-model/events.js';
import type { LocalBuilderKind } from '../docker/build-args.js';
import { planBuildSteps } from '../docker/dockerfile-steps.js';
import { createOutputParser, detectBuilderKind } from '../docker/output/output-parser.js';
import type { BuildOutputParser, BuildOutputSummary } from '../docker/output/parser-common.js';
import { parseMarker } from './buildspec.js';
import { RemoteSmokeCollector } from './remote-smoke.js';
import { redactor } from '../util/redact.js';

/** Prefix of the lines docker-image-builder itself adds to a CodeBuild attempt's log. */
export const INFO = '[docker-image-builder]';

/** Splits CloudWatch messages (which usually end with a newline, and may hold several lines) into lines. */
export function messageLines(message: string | undefined): string[] {
  if (message === undefined || message === '') return [];
  const lines = message.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => line.replace(/\r$/, ''));
}

export interface Sink {
  emit(event: BuildEvent): void;
  /** A line of our own (not from CodeBuild): event + log file. */
  info(text: string): void;
  write(line: string): void;
}

/** The attempt's log file and event stream; a throwing listener stops the build (as locally). */
export class AttemptSink implements Sink {
  private readonly stream: WriteStream | undefined;
  private readonly closed: Promise<void>;
  listenerError: unknown;

  constructor(
    readonly logFile: string | undefined,
    private readonly onEvent: ((event: BuildEvent) => void) | undefined,
    private readonly onListenerError: () => void,
  ) {
    if (logFile === undefined) {
      this.closed = Promise.resolve();
      return;
    }
    this.stream = createWriteStream(logFile, { encoding: 'utf8' });
    this.closed = new Promise<void>((resolve, reject) => {
      this.stream?.once('close', resolve);
      this.stream?.once('error', reject);
    });
  }

  emit(event: BuildEvent): void {
    try {
      this.onEvent?.(event);
    } catch (error) {
      if (this.listenerError === undefined) {
        this.listenerError = error;
        this.onListenerError();
      }
    }
  }

  write(line: string): void {
    this.stream?.write(`${line}\n`);
  }

  info(text: string): void {
    const line = `${INFO} ${text}`;
    this.write(line);
    this.emit({ type: 'log', line, stream: 'stdout' });
  }

  async close(): Promise<void> {
    this.stream?.end();
    await this.closed;
  }
}

export interface ParserSetup {
  dockerfileText?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  hasLabels?: boolean;
  /** Values replaced in every line before it is kept or read (secret-looking build args' values). */
  redactValues?: string[];
}

const COMMAND_ECHO =
  /^\[Container\] \S+ \S+ (?:Running command |Command did not exit successfully |Phase context status code: \S* Message: Error while executing command: )(.*)$/;
const CONTAINER_PHASE = /^\[Container\] \S+ \S+ (?:Entering phase|Phase is) ([A-Z_]+)\s*$/;

/** Reads the build's log lines: markers, the docker build section (through the output parser), smoke, push. */
export class LogProcessor {
  private parser: BuildOutputParser | undefined;
  private pending: string[] = [];
  private inDocker = false;
  private parserEnded = false;
  dockerExit: number | undefined;
  dockerStarted = false;
  imageId: string | undefined;
  pushed: string | undefined;
  pushStarted = false;
  readonly smoke = new RemoteSmokeCollector();
  lines = 0;
  /** Called with the phase of each `[Container] ... Entering phase <P>` line, in log order. */
  onPhase: ((phase: string) => void) | undefined;
  private multiLineCommands: string[] | undefined;
  private folding: { rest: string[]; index: number } | undefined;

  get knowsCommands(): boolean {
    return this.multiLineCommands !== undefined;
  }

  /** The buildspec's commands: CodeBuild echoes a multi-line command whole; only its first line is kept. */
  setCommands(commands: string[]): void {
    this.multiLineCommands = commands.filter((command) => command.includes('\n'));
  }

  /** True when the line is the echoed rest of a multi-line command (dropped). */
  private fold(line: string): boolean {
    if (this.folding !== undefined) {
      const expected = this.folding.rest[this.folding.index];
      const last = this.folding.index === this.folding.rest.length - 1;
      if (expected !== undefined && (line === expected || (last && line.startsWith(expected)))) {
        this.folding.index++;
        if (this.folding.index >= this.folding.rest.length) this.folding = undefined;
        return true;
      }
      this.folding = undefined;
    }
    const echoed = COMMAND_ECHO.exec(line)?.[1];
    if (echoed !== undefined) {
      const command = this.multiLineCommands?.find((c) => c.slice(0, c.indexOf('\n')) === echoed);
      if (command !== undefined) this.folding = { rest: command.split('\n').slice(1), index: 0 };
    }
    return false;
  }

  private readonly redact: (text: string) => string;

  constructor(
    private readonly sink: Sink,
    private readonly setup: ParserSetup,
  ) {
    this.redact = redactor(setup.redactValues ?? []);
  }

  private makeParser(builder: LocalBuilderKind): BuildOutputParser {
    const plan =
      this.setup.dockerfileText === undefined
        ? undefined
        : planBuildSteps(this.setup.dockerfileText, {
            builder,
            ...(this.setup.buildArgs === undefined ? {} : { buildArgs: this.setup.buildArgs }),
            ...(this.setup.target === undefined ? {} : { target: this.setup.target }),
            ...(this.setup.hasLabels === undefined ? {} : { hasLabels: this.setup.hasLabels }),
          });
    return createOutputParser(builder, plan ? { plan } : {});
  }

  private feed(line: string): void {
    if (this.parser === undefined) {
      const kind = detectBuilderKind(line);
      if (kind === undefined && this.pending.length < 50) {
        this.pending.push(line);
        return;
      }
      this.parser = this.makeParser(kind ?? 'buildkit');
      const queued = this.pending;
      this.pending = [];
      for (const earlier of queued) this.parse(earlier);
    }
    this.parse(line);
  }

  private parse(line: string): void {
    for (const event of this.parser!.push(line, 'stderr')) {
      if (event.type === 'log') this.sink.write(event.line);
      // The image id is announced once, from the buildspec's marker, after the build (as locally from --iidfile).
      if (event.type !== 'image-built') this.sink.emit(event);
    }
  }

  private plain(line: string): void {
    this.sink.write(line);
    this.sink.emit({ type: 'log', line, stream: 'stdout' });
  }

  push(raw: string): void {
    this.lines++;
    // Before anything keeps the line: a value printed by a build step reaches neither the log file nor an event.
    const line = this.redact(raw);
    if (this.fold(line)) return;
    const marker = parseMarker(line);
    if (marker === undefined) {
      if (this.inDocker) this.feed(line);
      else this.plain(line);
      this.smoke.push(line);
      const entering = CONTAINER_PHASE.exec(line)?.[1];
      if (entering !== undefined) this.onPhase?.(entering);
      return;
    }
    this.plain(line);
    this.smoke.push(line);
    switch (marker.kind) {
      case 'docker-build-start': {
        this.inDocker = true;
        this.dockerStarted = true;
        const builder = marker.fields['builder'];
        if (this.parser === undefined && (builder === 'buildkit' || builder === 'legacy')) {
          this.parser = this.makeParser(builder);
        }
        break;
      }
      case 'docker-build-end':
        this.inDocker = false;
        this.dockerExit = Number(marker.fields['exit'] ?? 1);
        this.endParser(this.dockerExit);
        break;
      case 'image-id':
        this.imageId = marker.rest.trim() || undefined;
        break;
      case 'push-start':
        this.pushStarted = true;
        break;
      case 'pushed':
        this.pushed = marker.rest.trim() || undefined;
        break;
      default:
        break;
    }
  }

  /** Closes the docker section: `exitCode` undefined when the build was stopped from outside. */
  endParser(exitCode: number | undefined): void {
    if (this.parserEnded) return;
    if (this.parser === undefined && this.pending.length === 0 && !this.dockerStarted) return;
    this.parserEnded = true;
    if (this.parser === undefined) {
      this.parser = this.makeParser('buildkit');
      const queued = this.pending;
      this.pending = [];
      for (const line of queued) this.parse(line);
    }
    for (const event of this.parser.end(exitCode)) if (event.type !== 'image-built') this.sink.emit(event);
  }

  summary(): BuildOutputSummary | undefined {
    return this.parser?.summary();
  }
}
