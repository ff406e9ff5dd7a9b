# bash completion for kube-postrender: source <(kube-postrender completion bash)
_kube_postrender() {
  local cur prev cmd i
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in -*) ;; *) cmd="${COMP_WORDS[i]}"; break ;; esac
  done
  case "$cmd" in
    "")
      COMPREPLY=($(compgen -W "check completion eval explain review run serve test webhook-config -h --help -V --version" -- "$cur"))
      ;;
    check)
      case "$prev" in
        -c|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -f|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -n|--namespace) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --namespace-labels) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-c --config -f --file --allow-empty -n --namespace --namespace-labels -h --help" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    completion)
      case "$prev" in
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help" -- "$cur")); else COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); fi
      ;;
    eval)
      case "$prev" in
        -e|--expression) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -f|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --old-object) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --operation) COMPREPLY=($(compgen -W "CREATE UPDATE DELETE CONNECT" -- "$cur")); return ;;
        -n|--namespace) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --namespace-labels) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-e --expression -f --file --old-object --operation -n --namespace --namespace-labels -h --help" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    explain)
      case "$prev" in
        -c|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -f|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -o|--output) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        -n|--namespace) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --namespace-labels) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-c --config -f --file -o --output -n --namespace --namespace-labels -h --help" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    review)
      case "$prev" in
        -c|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -f|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --route) COMPREPLY=($(compgen -W "mutate validate" -- "$cur")); return ;;
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-c --config -f --file --route -h --help" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    run)
      case "$prev" in
        -c|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -f|--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -n|--namespace) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --namespace-labels) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-c --config -f --file --allow-empty -n --namespace --namespace-labels -h --help" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    serve)
      case "$prev" in
        -c|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --port) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --host) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --tls-cert) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --tls-key) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --client-ca) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --namespace) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --log-level) COMPREPLY=($(compgen -W "fatal error warn info debug trace silent" -- "$cur")); return ;;
        --shutdown-delay) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --sample) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --metrics-port) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --manage-webhooks) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --max-in-flight) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --max-in-flight-bytes) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --max-evaluation-ms) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --evaluation-worker) COMPREPLY=($(compgen -W "on off" -- "$cur")); return ;;
        --report-interval) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-c --config --port --host --tls-cert --tls-key --client-ca --cluster --admission-policies --namespace --allow-insecure-self-signed --log-level --shutdown-delay --sample --metrics-port --manage-webhooks --max-in-flight --max-in-flight-bytes --max-evaluation-ms --evaluation-worker --reports --events --report-interval -h --help" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    test)
      case "$prev" in
        -o|--output) COMPREPLY=($(compgen -W "text tap junit" -- "$cur")); return ;;
        --file-name) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-o --output --file-name --fail-only -h --help" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
    webhook-config)
      case "$prev" in
        -c|--config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --name) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --namespace) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --ca-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --kubernetes-version) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-c --config --name --namespace --ca-file --kubernetes-version -h --help" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      ;;
  esac
}
complete -o filenames -F _kube_postrender kube-postrender
