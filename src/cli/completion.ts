/**
 * `kube-postrender completion bash|zsh|fish`: shell completion scripts,
 * generated from the commander program itself (its commands, options and
 * option choices), so a new command or flag is completed without editing
 * this file. Static scripts, like `kubectl completion` users source:
 *
 *   source <(kube-postrender completion bash)
 *   kube-postrender completion zsh > "${fpath[1]}/_kube-postrender"
 *   kube-postrender completion fish > ~/.config/fish/completions/kube-postrender.fish
 *
 * Options that take a value complete files, or the option's choices when it
 * has them (`-o text|json`).
 */
import type { Command, Option } from 'commander';

/** The shells we generate for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface OptionInfo {
  short?: string;
  long?: string;
  description: string;
  takesValue: boolean;
  choices: string[];
}

interface CommandInfo {
  name: string;
  description: string;
  options: OptionInfo[];
  /** Choices of the first positional argument (empty: it takes files). */
  argChoices: string[];
}

function optionInfo(o: Option): OptionInfo {
  return {
    ...(o.short ? { short: o.short } : {}),
    ...(o.long ? { long: o.long } : {}),
    description: o.description,
    takesValue: o.required || o.optional,
    choices: [...(o.argChoices ?? [])],
  };
}

const HELP: OptionInfo = { short: '-h', long: '--help', description: 'display help for command', takesValue: false, choices: [] };

/** The commands of `program` (help excluded), sorted by name, each with its options and --help. */
function commandsOf(program: Command): CommandInfo[] {
  return program.commands
    .filter((c) => c.name() !== 'help')
    .map((c) => ({ name: c.name(), description: c.description(), options: [...c.options.map(optionInfo), HELP], argChoices: [...(c.registeredArguments[0]?.argChoices ?? [])] }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function flags(o: OptionInfo): string[] {
  return [o.short, o.long].filter((f): f is string => f !== undefined);
}

function bashCase(c: CommandInfo): string[] {
  const valued = c.options.filter((o) => o.takesValue);
  const lines = [`    ${c.name})`, '      case "$prev" in'];
  for (const o of valued) {
    const words = o.choices.length ? `compgen -W "${o.choices.join(' ')}" -- "$cur"` : 'compgen -f -- "$cur"';
    lines.push(`        ${flags(o).join('|')}) COMPREPLY=($(${words})); return ;;`);
  }
  lines.push('      esac');
  const positional = c.argChoices.length ? `compgen -W "${c.argChoices.join(' ')}" -- "$cur"` : 'compgen -f -- "$cur"';
  lines.push(`      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${c.options.flatMap(flags).join(' ')}" -- "$cur")); else COMPREPLY=($(${positional})); fi`);
  lines.push('      ;;');
  return lines;
}

function bash(name: string, program: Command): string {
  const cmds = commandsOf(program);
  const fn = `_${name.replace(/-/g, '_')}`;
  return [
    `# bash completion for ${name}: source <(${name} completion bash)`,
    `${fn}() {`,
    '  local cur prev cmd i',
    '  cur="${COMP_WORDS[COMP_CWORD]}"',
    '  prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  cmd=""',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "${COMP_WORDS[i]}" in -*) ;; *) cmd="${COMP_WORDS[i]}"; break ;; esac',
    '  done',
    '  case "$cmd" in',
    '    "")',
    `      COMPREPLY=($(compgen -W "${cmds.map((c) => c.name).join(' ')} -h --help -V --version" -- "$cur"))`,
    '      ;;',
    ...cmds.flatMap(bashCase),
    '  esac',
    '}',
    `complete -o filenames -F ${fn} ${name}`,
    '',
  ].join('\n');
}

/** A zsh `_arguments` spec quoted for single quotes. */
function zq(s: string): string {
  return s.replace(/'/g, "'\\''").replace(/\[/g, '\\[').replace(/\]/g, '\\]').replace(/:/g, '\\:');
}

function zshOption(o: OptionInfo): string {
  const action = o.takesValue ? (o.choices.length ? `:value:(${o.choices.join(' ')})` : ':file:_files') : '';
  const f = flags(o);
  const spec = f.length > 1 ? `{${f.join(',')}}` : f[0];
  const exclusive = f.length > 1 ? `'(${f.join(' ')})'` : '';
  return `    ${exclusive}${spec}'[${zq(o.description)}]${action}'`;
}

function zsh(name: string, program: Command): string {
  const cmds = commandsOf(program);
  const fn = `_${name.replace(/-/g, '_')}`;
  const lines = [
    `#compdef ${name}`,
    `# zsh completion for ${name}: ${name} completion zsh > "\${fpath[1]}/_${name}"`,
    `${fn}() {`,
    '  local line state',
    "  _arguments -C '(-h --help)'{-h,--help}'[display help]' '(-V --version)'{-V,--version}'[output the version number]' '1: :->cmd' '*:: :->args'",
    '  case $state in',
    '    cmd)',
    '      local -a commands',
    '      commands=(',
    ...cmds.map((c) => `        '${c.name}:${zq(c.description).replace(/\\:/g, ':')}'`),
    '      )',
    "      _describe 'command' commands",
    '      ;;',
    '    args)',
    '      case $line[1] in',
  ];
  for (const c of cmds) {
    const positional = c.argChoices.length ? `            '1:value:(${c.argChoices.join(' ')})'` : "            '*:file:_files'";
    lines.push(`        ${c.name})`, '          _arguments \\', ...c.options.map((o) => `  ${zshOption(o)} \\`), positional, '          ;;');
  }
  lines.push('      esac', '      ;;', '  esac', '}', `compdef ${fn} ${name}`, '');
  return lines.join('\n');
}

/** Text quoted for fish's single quotes. */
function fq(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function fishOption(name: string, c: CommandInfo, o: OptionInfo): string {
  const parts = [`complete -c ${name} -n '__fish_seen_subcommand_from ${c.name}'`];
  if (o.short) parts.push(`-s ${o.short.slice(1)}`);
  if (o.long) parts.push(`-l ${o.long.slice(2)}`);
  if (o.takesValue) parts.push(o.choices.length ? `-x -a ${fq(o.choices.join(' '))}` : '-r -F');
  parts.push(`-d ${fq(o.description)}`);
  return parts.join(' ');
}

function fish(name: string, program: Command): string {
  const cmds = commandsOf(program);
  return [
    `# fish completion for ${name}: ${name} completion fish > ~/.config/fish/completions/${name}.fish`,
    `complete -c ${name} -f`,
    `complete -c ${name} -n '__fish_use_subcommand' -s h -l help -d 'display help'`,
    `complete -c ${name} -n '__fish_use_subcommand' -s V -l version -d 'output the version number'`,
    ...cmds.map((c) => `complete -c ${name} -n '__fish_use_subcommand' -a ${c.name} -d ${fq(c.description)}`),
    ...cmds.flatMap((c) => c.options.map((o) => fishOption(name, c, o))),
    ...cmds.filter((c) => c.argChoices.length).map((c) => `complete -c ${name} -n '__fish_seen_subcommand_from ${c.name}' -x -a ${fq(c.argChoices.join(' '))}`),
    `complete -c ${name} -n '__fish_seen_subcommand_from ${cmds.filter((c) => !c.argChoices.length).map((c) => c.name).join(' ')}' -F`,
    '',
  ].join('\n');
}

/** The completion script of `program` for `shell`. Pure: depends only on the program's commands and options. */
export function completionScript(program: Command, shell: Shell): string {
  const name = program.name();
  if (shell === 'bash') return bash(name, program);
  if (shell === 'zsh') return zsh(name, program);
  return fish(name, program);
}
