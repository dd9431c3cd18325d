import { DISTRO_PYTHON } from '../compat/distro.js';
import { buildCondaInstall, buildPipInstall } from './model-installs.js';
import type { ModelBuilder, RunContext } from './model-builder.js';
import { rootFacts } from './model-text.js';
import { basename, joinPath } from './shell.js';

/** What the commands of one RUN do to the stage: installs, uninstalls, Python providers, generated files. */
export function handleRun(b: ModelBuilder, run: RunContext): void {
  const current = run.stage;
  const laterCleans = (order: number, tool: 'pip' | 'uv') =>
    run.commands.some(
      ({ event, recognised }) =>
        event.order > order &&
        recognised.kind === 'cache-clean' &&
        (recognised.what === 'all' || recognised.what === tool),
    );
  for (const { event, recognised } of run.commands) {
    const position = b.positionOf(event.argv[0] ?? null, run.instruction.getRange().start.line + 1);
    for (const write of event.writes) {
      const path = joinPath(event.cwd, write.text);
      if (path) b.generated.add(path);
    }
    switch (recognised.kind) {
      case 'pip': {
        if (recognised.subcommand === 'install') {
          const install = buildPipInstall(
            b,
            run,
            event,
            recognised,
            position,
            laterCleans(event.order, recognised.tool),
          );
          current.events.push({ kind: 'install', install });
          b.model.installs.push(install);
        } else if (recognised.subcommand === 'uninstall') {
          const names = recognised.args.filter((arg) => !arg.text.startsWith('-')).map((arg) => arg.text.toLowerCase());
          current.events.push({ kind: 'uninstall', names, position });
        } else if (recognised.subcommand === 'config') {
          const key = recognised.args.find((arg) => /\.no-cache-dir$/.test(arg.text));
          if (key && recognised.args.some((arg) => arg.text === 'set')) b.noCacheConfigured = true;
        }
        break;
      }
      case 'conda': {
        const install = buildCondaInstall(b, run, event, recognised, position);
        if (install) {
          current.events.push({ kind: 'install', install });
          b.model.installs.push(install);
        }
        current.events.push({ kind: 'python-provider', position });
        break;
      }
      case 'apt': {
        const packages = recognised.packages;
        if (packages.some((name) => /^python/.test(name))) current.events.push({ kind: 'python-provider', position });
        const explicit = packages.map((name) => /^python(\d+\.\d+)(-[a-z]+)?$/.exec(name)?.[1]).find(Boolean);
        const distroPython = packages.includes('python3-pip') || (!explicit && packages.includes('python3'));
        const facts = rootFacts(current);
        if (distroPython && facts?.distro) {
          const version = DISTRO_PYTHON[facts.distro]?.python ?? null;
          b.addPython(current, version, `apt-get install python3 on ${facts.distro}`, position);
        } else if (explicit) b.addPython(current, explicit, `apt-get install python${explicit}`, position);
        break;
      }
      case 'get-pip':
        b.addPython(current, recognised.python, `python${recognised.python} get-pip.py`, position, 5);
        current.events.push({ kind: 'python-provider', position });
        break;
      case 'venv':
        b.addPython(current, recognised.python, `python${recognised.python} -m venv`, position, 5);
        break;
      case 'alternatives':
      case 'symlink': {
        const target = recognised.target;
        const link = recognised.link;
        const version = /python(\d+\.\d+)$/.exec(target)?.[1];
        if (version && /\/python3?$/.test(link)) {
          const priority = recognised.kind === 'alternatives' ? recognised.priority : 100;
          const previous = b.pythonEvidence.get(link);
          if (!previous || priority >= previous.priority) {
            b.pythonEvidence.set(link, { version, priority });
            b.addPython(
              current,
              version,
              `${recognised.kind === 'alternatives' ? 'update-alternatives' : 'ln -s'} ${target}`,
              position,
              4,
            );
          }
        }
        break;
      }
      case 'git-clone': {
        const dest = recognised.dest ?? basename(recognised.url).replace(/\.git$/, '');
        const path = joinPath(event.cwd, dest);
        if (path) b.externalDirs.push(path);
        break;
      }
      case 'other': {
        const name = recognised.name;
        const readsStdin = (name === 'bash' || name === 'sh') && event.argv.length === 1;
        if (readsStdin || event.argv.some((arg) => /conda|mamba|forge|pyenv/i.test(arg.text))) {
          current.events.push({ kind: 'python-provider', position });
        }
        if (name === 'uv' && event.argv[1]?.text === 'python')
          current.events.push({ kind: 'python-provider', position });
        if ((name === 'cp' || name === 'mv') && event.argv.length >= 3) {
          const path = joinPath(event.cwd, event.argv[event.argv.length - 1]!.text);
          if (path) b.generated.add(path);
        }
        const output = event.argv.findIndex((arg) => arg.text === '-o' || arg.text === '-O' || arg.text === '--output');
        if ((name === 'curl' || name === 'wget') && output !== -1 && event.argv[output + 1]) {
          const path = joinPath(event.cwd, event.argv[output + 1]!.text);
          if (path) b.generated.add(path);
        }
        break;
      }
      default:
        break;
    }
  }
}
