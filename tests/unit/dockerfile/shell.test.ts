import { describe, expect, it } from 'vitest';
import { Interpreter, type CommandEvent, type Env } from '../../../src/dockerfile/shell.js';
import { mstr, spanOf, UNRESOLVED } from '../../../src/dockerfile/text.js';

function run(
  script: string,
  vars: Record<string, string | null> = {},
  scripts: Record<string, string> = {},
): CommandEvent[] {
  const events: CommandEvent[] = [];
  const env: Env = new Map(
    Object.entries(vars).map(([name, value]) => [name, value === null ? null : mstr.literal(value)]),
  );
  const source = mstr.fromFile(0, script, 0, script.length);
  new Interpreter(
    {
      onCommand: (event) => events.push(event),
      resolveScript: (path) => (scripts[path] === undefined ? undefined : mstr.literal(scripts[path]!)),
    },
    '/work',
  ).run(source, env);
  return events;
}

const argv = (event: CommandEvent | undefined) => event?.argv.map((arg) => arg.text);

describe('shell reader', () => {
  it('splits && / || / ; chains and removes quotes, keeping positions', () => {
    const script = `apt-get update && pip install "torch==2.1.0" 'torchvision==0.16.0'; echo done`;
    const events = run(script);
    expect(events.map(argv)).toEqual([
      ['apt-get', 'update'],
      ['pip', 'install', 'torch==2.1.0', 'torchvision==0.16.0'],
      ['echo', 'done'],
    ]);
    const torch = events[1]!.argv[2]!;
    const span = spanOf(torch, 7, 12);
    expect(script.slice(span!.start, span!.end)).toBe('2.1.0');
  });

  it('expands variables, defaults and lengths, and maps expanded text to where it was defined', () => {
    const events = run('pip install torch==$V torchvision==${TV:-0.16.0} x${#V}', { V: '2.1.0' });
    expect(argv(events[0])).toEqual(['pip', 'install', 'torch==2.1.0', 'torchvision==0.16.0', 'x5']);
    const unresolved = run('pip install torch==$MISSING');
    expect(unresolved[0]!.argv[2]!.text).toBe(`torch==${UNRESOLVED}`);
  });

  it('takes the branch a known [ test ] decides, like transformers does', () => {
    const script = "[ ${#PYTORCH} -gt 0 ] && VERSION='torch=='$PYTORCH'.*' || VERSION='torch'; pip install $VERSION";
    expect(argv(run(script, { PYTORCH: '2.6.0' }).at(-1))).toEqual(['pip', 'install', 'torch==2.6.0.*']);
    expect(argv(run(script, { PYTORCH: '' }).at(-1))).toEqual(['pip', 'install', 'torch']);
  });

  it('marks commands on undecidable paths as conditional', () => {
    const events = run('if [ -f /x ]; then pip install a; else pip install b; fi; pip install c');
    expect(events.map((event) => [argv(event)?.[2], event.conditional])).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
    ]);
  });

  it('picks the matching case arm when the subject is known', () => {
    const script = 'case ${TARGETPLATFORM} in "linux/arm64") pip install cpu-only ;; *) pip install cuda ;; esac';
    expect(run(script, { TARGETPLATFORM: 'linux/amd64' }).map(argv)).toEqual([['pip', 'install', 'cuda']]);
    expect(run(script, { TARGETPLATFORM: null }).every((event) => event.conditional)).toBe(true);
  });

  it('treats unquoted > as a redirection, as the shell does', () => {
    const events = run('pip install wandb>=0.12.2');
    expect(argv(events[0])).toEqual(['pip', 'install', 'wandb']);
    expect(events[0]!.writes[0]!.text).toBe('=0.12.2');
  });

  it('follows cd, strips sudo/env wrappers and reads bash -c strings and copied scripts', () => {
    const events = run(
      'cd sub && sudo -H env A=1 pip install x && bash -c "pip install y" && INSTALL=yes ./setup.sh',
      {},
      { './setup.sh': 'if [[ "$INSTALL" == "yes" ]]; then pip install z; fi' },
    );
    expect(events.find((event) => argv(event)?.[2] === 'x')?.cwd).toBe('/work/sub');
    expect(events.find((event) => argv(event)?.[2] === 'x')?.env.get('A')?.text).toBe('1');
    expect(events.some((event) => argv(event)?.[2] === 'y')).toBe(true);
    expect(events.find((event) => argv(event)?.[2] === 'z')?.conditional).toBe(false);
  });

  it('skips comments and here-document bodies', () => {
    const events = run('cat <<EOF > /tmp/x\npip install not-a-command\nEOF\n# pip install commented\npip install real');
    expect(events.map((event) => argv(event)?.[0])).toEqual(['cat', 'pip']);
    expect(argv(events[1])).toEqual(['pip', 'install', 'real']);
  });
});
