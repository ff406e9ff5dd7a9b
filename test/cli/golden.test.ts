/**
 * Golden outputs of the CLI: `--help` of the program and of every command,
 * `--version`, and the bash, zsh and fish completion scripts. The files under
 * test/golden/ are generated, never hand-edited:
 *
 *   npm run build && UPDATE_GOLDEN=1 npx tap --disable-coverage test/cli/golden.test.ts
 *
 * A new command or flag changes them: regenerate and review the diff. The
 * bash script is also exercised (completing commands, option choices and
 * argument choices); zsh and fish scripts are syntax-checked where those
 * shells are installed.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'dist/cli/main.js');
const goldenDir = join(root, 'test/golden');
const update = process.env.UPDATE_GOLDEN === '1';
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  // COLUMNS unset and pipes: commander wraps help at 80 columns, the same everywhere.
  const env = { ...process.env };
  delete env.COLUMNS;
  const p = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { code: p.status, stdout: p.stdout, stderr: p.stderr };
}

const commands = cli(['--help']).stdout.split('\n').map((l) => /^ {2}([a-z][a-z-]*) /.exec(l)?.[1]).filter((c): c is string => c !== undefined && c !== 'help');

const cases: { file: string; args: string[] }[] = [
  { file: 'help.txt', args: ['--help'] },
  ...commands.map((c) => ({ file: `help-${c}.txt`, args: [c, '--help'] })),
  { file: 'version.txt', args: ['--version'] },
  { file: 'completion.bash', args: ['completion', 'bash'] },
  { file: 'completion.zsh', args: ['completion', 'zsh'] },
  { file: 'completion.fish', args: ['completion', 'fish'] },
];

t.test('the commands are listed in --help', async (t) => {
  t.ok(commands.length >= 8, commands.join(' '));
  for (const c of ['run', 'serve', 'check', 'review', 'explain', 'test', 'eval', 'completion']) t.ok(commands.includes(c), c);
});

t.test('golden outputs (regenerate: UPDATE_GOLDEN=1)', async (t) => {
  if (update) mkdirSync(goldenDir, { recursive: true });
  for (const c of cases) {
    const r = cli(c.args);
    t.equal(r.code, 0, `${c.args.join(' ')} exits 0`);
    const path = join(goldenDir, c.file);
    if (update) writeFileSync(path, r.stdout);
    let want = '';
    try {
      want = readFileSync(path, 'utf8');
    } catch {
      t.fail(`${c.file} is missing: run UPDATE_GOLDEN=1 npx tap test/cli/golden.test.ts`);
      continue;
    }
    t.equal(r.stdout, want, `${c.args.join(' ')} equals test/golden/${c.file} (regenerate with UPDATE_GOLDEN=1 if the change is intended)`);
  }
});

t.test('--version prints the package version', async (t) => {
  t.equal(cli(['--version']).stdout, `${version}\n`);
  t.equal(cli(['-V']).stdout, `${version}\n`);
});

t.test('the bash script completes commands, option values and argument choices', async (t) => {
  const script = [
    `source <("${process.execPath}" "${bin}" completion bash)`,
    'complete_at() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _kube_postrender; echo "${COMPREPLY[*]}"; }',
    'complete_at kube-postrender te',
    'complete_at kube-postrender explain -o ""',
    'complete_at kube-postrender completion ""',
    'complete_at kube-postrender test --f',
    'complete_at kube-postrender --v',
  ].join('\n');
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  t.equal(r.stderr, '');
  t.same(r.stdout.split('\n').slice(0, 5), ['test', 'text json', 'bash zsh fish', '--file-name --fail-only', '--version']);
});

t.test('zsh and fish scripts parse', async (t) => {
  for (const [shell, args] of [['zsh', ['-n']], ['fish', ['--no-execute']]] as const) {
    const probe = spawnSync(shell, ['-c', 'true']);
    if (probe.error) {
      t.comment(`${shell} not installed: syntax check skipped`);
      continue;
    }
    const file = join(mkdtempSync(join(tmpdir(), 'kpr-completion-')), `completion.${shell}`);
    writeFileSync(file, cli(['completion', shell]).stdout);
    const r = spawnSync(shell, [...args, file], { encoding: 'utf8' });
    t.equal(r.status, 0, `${shell} parses the script: ${r.stderr}`);
  }
});
