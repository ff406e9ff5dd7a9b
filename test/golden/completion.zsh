#compdef kube-postrender
# zsh completion for kube-postrender: kube-postrender completion zsh > "${fpath[1]}/_kube-postrender"
_kube_postrender() {
  local line state
  _arguments -C '(-h --help)'{-h,--help}'[display help]' '(-V --version)'{-V,--version}'[output the version number]' '1: :->cmd' '*:: :->args'
  case $state in
    cmd)
      local -a commands
      commands=(
        'check:validate policies; with -f, also check that every transformer is idempotent on those manifests'
        'completion:print a shell completion script (bash, zsh or fish)'
        'eval:evaluate a CEL expression in the policy environment (object, oldObject, request, namespaceObject) and print the result as JSON'
        'explain:for each object: which policies and transformers matched or were skipped (and why), the JSON patch each contributed, validate results'
        'review:answer one AdmissionReview (stdin or -f) and print the response'
        'run:Helm post-renderer: manifests on stdin (or -f) to stdout, transformed'
        'serve:the mutating/validating admission webhook over HTTPS'
        'test:run declarative policy tests (postrender-test.yaml files): expected result per policy, rule and resource'
        'webhook-config:print the Mutating/ValidatingWebhookConfiguration these policies need (rules follow what they match)'
      )
      _describe 'command' commands
      ;;
    args)
      case $line[1] in
        check)
          _arguments \
      '(-c --config)'{-c,--config}'[policy file or directory (repeatable)]:file:_files' \
      '(-f --file)'{-f,--file}'[manifests to check idempotence on]:file:_files' \
      --allow-empty'[accept a set of no policies (default\: exit 2, "no policies found in ...")]' \
      '(-n --namespace)'{-n,--namespace}'[namespace assumed for objects without metadata.namespace (default $HELM_NAMESPACE)]:file:_files' \
      --namespace-labels'[labels of a namespace not in the stream (repeatable)]:file:_files' \
      '(-h --help)'{-h,--help}'[display help for command]' \
            '*:file:_files'
          ;;
        completion)
          _arguments \
      '(-h --help)'{-h,--help}'[display help for command]' \
            '1:value:(bash zsh fish)'
          ;;
        eval)
          _arguments \
      '(-e --expression)'{-e,--expression}'[the CEL expression]:file:_files' \
      '(-f --file)'{-f,--file}'[YAML or JSON file holding `object` (- for stdin)]:file:_files' \
      --old-object'[YAML or JSON file holding `oldObject` (operation then defaults to UPDATE)]:file:_files' \
      --operation'[request.operation]:value:(CREATE UPDATE DELETE CONNECT)' \
      '(-n --namespace)'{-n,--namespace}'[namespace of the request (default\: the object'\''s)]:file:_files' \
      --namespace-labels'[labels of namespaceObject]:file:_files' \
      '(-h --help)'{-h,--help}'[display help for command]' \
            '*:file:_files'
          ;;
        explain)
          _arguments \
      '(-c --config)'{-c,--config}'[policy file or directory (repeatable)]:file:_files' \
      '(-f --file)'{-f,--file}'[read manifests from this file instead of stdin]:file:_files' \
      '(-o --output)'{-o,--output}'[output format]:value:(text json)' \
      '(-n --namespace)'{-n,--namespace}'[namespace assumed for objects without metadata.namespace (default $HELM_NAMESPACE)]:file:_files' \
      --namespace-labels'[labels of a namespace not in the stream (repeatable)]:file:_files' \
      '(-h --help)'{-h,--help}'[display help for command]' \
            '*:file:_files'
          ;;
        review)
          _arguments \
      '(-c --config)'{-c,--config}'[policy file or directory (repeatable)]:file:_files' \
      '(-f --file)'{-f,--file}'[read the AdmissionReview from this file]:file:_files' \
      --route'[which webhook route to answer as]:value:(mutate validate)' \
      '(-h --help)'{-h,--help}'[display help for command]' \
            '*:file:_files'
          ;;
        run)
          _arguments \
      '(-c --config)'{-c,--config}'[policy file or directory (repeatable)]:file:_files' \
      '(-f --file)'{-f,--file}'[read manifests from this file instead of stdin]:file:_files' \
      --allow-empty'[run with no policies (default\: exit 2, "no policies found in ...")]' \
      '(-n --namespace)'{-n,--namespace}'[namespace assumed for objects without metadata.namespace (default $HELM_NAMESPACE)]:file:_files' \
      --namespace-labels'[labels of a namespace not in the stream (repeatable)]:file:_files' \
      '(-h --help)'{-h,--help}'[display help for command]' \
            '*:file:_files'
          ;;
        serve)
          _arguments \
      '(-c --config)'{-c,--config}'[policy file or directory (repeatable)]:file:_files' \
      --port'[port]:file:_files' \
      --host'[address to listen on]:file:_files' \
      --tls-cert'[serving certificate (PEM)]:file:_files' \
      --tls-key'[serving key (PEM)]:file:_files' \
      --client-ca'[CA bundle (PEM)\: admission requests must present a client certificate it signed]:file:_files' \
      --cluster'[also watch policy CRDs and Namespaces (in-cluster config or KUBECONFIG)]' \
      --admission-policies'[with --cluster\: also apply the cluster'\''s MutatingAdmissionPolicies and ValidatingAdmissionPolicies (for clusters that do not)]' \
      --namespace'[the webhook'\''s own namespace, never touched (default $POD_NAMESPACE)]:file:_files' \
      --allow-insecure-self-signed'[serve the generated self-signed certificate on a non-loopback address]' \
      --log-level'[log level]:value:(fatal error warn info debug trace silent)' \
      --shutdown-delay'[after SIGTERM, keep answering (not ready, Connection\: close) this long before closing]:file:_files' \
      --sample'[print a curl command that sends this AdmissionReview]:file:_files' \
      --metrics-port'[serve /metrics over plain HTTP on this port (not on the HTTPS port)]:file:_files' \
      --manage-webhooks'[keep the rules of the Mutating/ValidatingWebhookConfiguration NAME equal to what the policies match (a Lease elects one writer)]:file:_files' \
      --max-in-flight'[admission requests in flight past which the answer is 429 (Retry-After)]:file:_files' \
      --max-in-flight-bytes'[request body MiB in flight past which the answer is 429]:file:_files' \
      --max-evaluation-ms'[wall-clock bound of one review'\''s evaluation; policies not done by then follow their failurePolicy (0\: the API server'\''s timeout only)]:file:_files' \
      --evaluation-worker'[on\: large reviews and evaluations past a 10 ms slice run in a worker thread that is cut off when late, so /healthz and other requests never wait; off\: every review on the event loop]:value:(on off)' \
      --reports'[with --cluster\: write PolicyReports (wgpolicyk8s.io/v1alpha2) from admission and a background scan (one replica, by Lease)]' \
      --events'[with --cluster\: create a Kubernetes Event for each denial (rate-limited)]' \
      --report-interval'[seconds between PolicyReport write batches]:file:_files' \
      '(-h --help)'{-h,--help}'[display help for command]' \
            '*:file:_files'
          ;;
        test)
          _arguments \
      '(-o --output)'{-o,--output}'[output format]:value:(text tap junit)' \
      --file-name'[name of the test files to look for]:file:_files' \
      --fail-only'[text output\: list only the failed checks]' \
      '(-h --help)'{-h,--help}'[display help for command]' \
            '*:file:_files'
          ;;
        webhook-config)
          _arguments \
      '(-c --config)'{-c,--config}'[policy file or directory (repeatable)]:file:_files' \
      --name'[configuration and Service name]:file:_files' \
      --namespace'[the webhook'\''s namespace (always excluded)]:file:_files' \
      --ca-file'[CA bundle (PEM) for caBundle]:file:_files' \
      --kubernetes-version'[degrade for an older API server (matchConditions need 1.28)]:file:_files' \
      '(-h --help)'{-h,--help}'[display help for command]' \
            '*:file:_files'
          ;;
      esac
      ;;
  esac
}
compdef _kube_postrender kube-postrender
