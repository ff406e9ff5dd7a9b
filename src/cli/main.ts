#!/usr/bin/env node
/**
 * The `kube-postrender` command line (DESIGN.md, "CLI contract"):
 * `run`, `serve`, `check`, `review`, `explain`, `test`, `eval`, `completion`
 * (and `--version`). Exit codes: 0 ok, 1 denied or transform
 * error, 2 usage or config error.
 */
import { createRequire } from 'node:module';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { collect, EXIT, oneLine } from './io.js';
import { enableCliCompileCache } from './compile-cache.js';
import { keepYoungGenerationSmall, stopAtMidTier } from './heap.js';
// Each command's modules load only when it runs: `serve` pulls in the
// Kubernetes client and fastify, which `run` (a Helm post-renderer started
// once per release) must not pay for.

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 300) throw new InvalidArgumentError('must be a number of seconds from 0 to 300');
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('must be a whole number from 1 to 100000');
  return n;
}

function millis(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 60_000) throw new InvalidArgumentError('must be a whole number of milliseconds from 0 to 60000');
  return n;
}

/** Builds the program; `setCode` receives each command's exit code. */
export function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command('kube-postrender')
    .description('Helm post-rendering moved into the cluster: kustomize-exact transforms as a mutating admission webhook and a Helm post-renderer')
    .version((createRequire(import.meta.url)('../../package.json') as { version: string }).version, '-V, --version', 'output the version number')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const namespaceOptions = (cmd: Command): Command => cmd
    .option('-n, --namespace <ns>', 'namespace assumed for objects without metadata.namespace (default $HELM_NAMESPACE)')
    .option('--namespace-labels <ns:k=v,...>', 'labels of a namespace not in the stream (repeatable)', collect, []);
  /** Parses the namespace options of `run`, `explain` and `check` (one place: the commands agree); undefined after a usage error. */
  const namespaces = async (o: { namespace?: string; namespaceLabels?: string[] }): Promise<{ namespace?: string; namespaceLabels: Record<string, Record<string, string>> } | undefined> => {
    const { parseNamespaceLabels } = await import('./policies.js');
    try {
      return { namespace: o.namespace, namespaceLabels: parseNamespaceLabels(o.namespaceLabels) };
    } catch (e) {
      process.stderr.write(`${oneLine(e)}\n`);
      setCode(EXIT.usage);
      return undefined;
    }
  };
  namespaceOptions(program
    .command('run')
    .description('Helm post-renderer: manifests on stdin (or -f) to stdout, transformed')
    .requiredOption('-c, --config <policy>', 'policy file or directory (repeatable)', collect)
    .option('-f, --file <manifests>', 'read manifests from this file instead of stdin')
    .option('--allow-empty', 'run with no policies (default: exit 2, "no policies found in ...")'))
    .action(async (o) => {
      // Before its modules load: the heap and compiler policy of a batch process (heap.ts).
      keepYoungGenerationSmall();
      stopAtMidTier();
      const ns = await namespaces(o);
      if (ns) setCode(await (await import('./run.js')).runCommand({ config: o.config, file: o.file, allowEmpty: o.allowEmpty, ...ns }));
    });
  program
    .command('serve')
    .description('the mutating/validating admission webhook over HTTPS')
    .option('-c, --config <policy>', 'policy file or directory (repeatable)', collect, [])
    .addOption(new Option('--port <port>', 'port').default(8443).argParser(port))
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    .option('--tls-cert <file>', 'serving certificate (PEM)')
    .option('--tls-key <file>', 'serving key (PEM)')
    .option('--client-ca <file>', 'CA bundle (PEM): admission requests must present a client certificate it signed')
    .option('--cluster', 'also watch policy CRDs and Namespaces (in-cluster config or KUBECONFIG)')
    .option('--admission-policies', 'with --cluster: also apply the cluster\'s MutatingAdmissionPolicies and ValidatingAdmissionPolicies (for clusters that do not)')
    .option('--namespace <ns>', "the webhook's own namespace, never touched (default $POD_NAMESPACE)")
    .option('--allow-insecure-self-signed', 'serve the generated self-signed certificate on a non-loopback address')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .addOption(new Option('--shutdown-delay <seconds>', 'after SIGTERM, keep answering (not ready, Connection: close) this long before closing').default(5).argParser(seconds))
    .option('--sample <review.json>', 'print a curl command that sends this AdmissionReview')
    .addOption(new Option('--metrics-port <port>', 'serve /metrics over plain HTTP on this port (not on the HTTPS port)').argParser(port))
    .option('--manage-webhooks <name>', 'keep the rules of the Mutating/ValidatingWebhookConfiguration NAME equal to what the policies match (a Lease elects one writer)')
    .addOption(new Option('--max-in-flight <n>', 'admission requests in flight past which the answer is 429 (Retry-After)').default(32).argParser(count))
    .addOption(new Option('--max-in-flight-bytes <MiB>', 'request body MiB in flight past which the answer is 429').default(24).argParser(count))
    .addOption(new Option('--max-evaluation-ms <ms>', "wall-clock bound of one review's evaluation; policies not done by then follow their failurePolicy (0: the API server's timeout only)").default(50).argParser(millis))
    .addOption(new Option('--evaluation-worker <mode>', 'on: large reviews and evaluations past a 10 ms slice run in a worker thread that is cut off when late, so /healthz and other requests never wait; off: every review on the event loop').choices(['on', 'off']).default('on'))
    .option('--reports', 'with --cluster: write PolicyReports (wgpolicyk8s.io/v1alpha2) from admission and a background scan (one replica, by Lease)')
    .option('--events', 'with --cluster: create a Kubernetes Event for each denial (rate-limited)')
    .addOption(new Option('--report-interval <seconds>', 'seconds between PolicyReport write batches').default(2).argParser(seconds))
    .action(async (o) =>
      setCode(
        await (await import('./serve.js')).serveCommand({
          config: o.config, port: o.port, host: o.host, tlsCert: o.tlsCert, tlsKey: o.tlsKey, clientCa: o.clientCa, cluster: o.cluster, admissionPolicies: o.admissionPolicies,
          namespace: o.namespace, allowInsecureSelfSigned: o.allowInsecureSelfSigned, logLevel: o.logLevel, sample: o.sample, shutdownDelaySeconds: o.shutdownDelay,
          manageWebhooks: o.manageWebhooks, metricsPort: o.metricsPort,
          inFlight: { maxRequests: o.maxInFlight, maxBytes: o.maxInFlightBytes * 1024 * 1024 }, maxEvaluationMs: o.maxEvaluationMs,
          evaluationWorker: o.evaluationWorker !== 'off', reports: o.reports, events: o.events, reportIntervalSeconds: o.reportInterval,
        }),
      ),
    );
  namespaceOptions(program
    .command('check')
    .description('validate policies; with -f, also check that every transformer is idempotent on those manifests')
    .requiredOption('-c, --config <policy>', 'policy file or directory (repeatable)', collect)
    .option('-f, --file <manifests>', 'manifests to check idempotence on')
    .option('--allow-empty', 'accept a set of no policies (default: exit 2, "no policies found in ...")'))
    .action(async (o) => {
      const ns = await namespaces(o);
      if (ns) setCode(await (await import('./check.js')).checkCommand({ config: o.config, file: o.file, allowEmpty: o.allowEmpty, ...ns }));
    });
  program
    .command('review')
    .description('answer one AdmissionReview (stdin or -f) and print the response')
    .requiredOption('-c, --config <policy>', 'policy file or directory (repeatable)', collect)
    .option('-f, --file <review.json>', 'read the AdmissionReview from this file')
    .addOption(new Option('--route <route>', 'which webhook route to answer as').choices(['mutate', 'validate']).default('mutate'))
    .action(async (o) => setCode(await (await import('./review.js')).reviewCommand({ config: o.config, file: o.file, route: o.route })));
  program
    .command('webhook-config')
    .description('print the Mutating/ValidatingWebhookConfiguration these policies need (rules follow what they match)')
    .requiredOption('-c, --config <policy>', 'policy file or directory (repeatable)', collect)
    .option('--name <name>', 'configuration and Service name', 'kube-postrender')
    .option('--namespace <ns>', "the webhook's namespace (always excluded)", 'kube-postrender')
    .option('--ca-file <pem>', 'CA bundle (PEM) for caBundle')
    .option('--kubernetes-version <major.minor>', 'degrade for an older API server (matchConditions need 1.28)')
    .action(async (o) => setCode(await (await import('./webhook-config.js')).webhookConfigCommand({ config: o.config, name: o.name, namespace: o.namespace, caFile: o.caFile, kubernetesVersion: o.kubernetesVersion })));
  namespaceOptions(program
    .command('explain')
    .description('for each object: which policies and transformers matched or were skipped (and why), the JSON patch each contributed, validate results')
    .requiredOption('-c, --config <policy>', 'policy file or directory (repeatable)', collect)
    .option('-f, --file <manifests>', 'read manifests from this file instead of stdin')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text')))
    .action(async (o) => {
      const ns = await namespaces(o);
      if (ns) setCode(await (await import('./explain.js')).explainCommand({ config: o.config, file: o.file, output: o.output, ...ns }));
    });
  program
    .command('test')
    .description('run declarative policy tests (postrender-test.yaml files): expected result per policy, rule and resource')
    .argument('[path...]', 'test files or directories searched for them (default .)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'tap', 'junit']).default('text'))
    .option('--file-name <name>', 'name of the test files to look for', 'postrender-test.yaml')
    .option('--fail-only', 'text output: list only the failed checks')
    .action(async (paths: string[], o) => setCode(await (await import('./test.js')).testCommand({ paths, output: o.output, fileName: o.fileName, failOnly: o.failOnly })));
  program
    .command('eval')
    .description('evaluate a CEL expression in the policy environment (object, oldObject, request, namespaceObject) and print the result as JSON')
    .requiredOption('-e, --expression <cel>', 'the CEL expression')
    .option('-f, --file <object>', 'YAML or JSON file holding `object` (- for stdin)')
    .option('--old-object <file>', 'YAML or JSON file holding `oldObject` (operation then defaults to UPDATE)')
    .addOption(new Option('--operation <op>', 'request.operation').choices(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']))
    .option('-n, --namespace <ns>', "namespace of the request (default: the object's)")
    .option('--namespace-labels <k=v,...>', 'labels of namespaceObject')
    .action(async (o) => setCode(await (await import('./eval.js')).evalCommand({ expression: o.expression, file: o.file, oldObject: o.oldObject, operation: o.operation, namespace: o.namespace, namespaceLabels: o.namespaceLabels })));
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .action(async (shell: 'bash' | 'zsh' | 'fish') => {
      process.stdout.write((await import('./completion.js')).completionScript(program, shell));
      setCode(EXIT.ok);
    });
  return program;
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.failed;
  }
  return code;
}

// Before any command's modules load (each is a dynamic import): they are
// compiled once per user, then read from the cache (compile-cache.ts).
enableCliCompileCache();
// A reader that stops early (`kube-postrender run | head`) closes stdout: stop
// with one line and exit 1, as a Go CLI (kubectl, kustomize) stops on SIGPIPE,
// instead of an unhandled 'error' event and its stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  process.stderr.write(`${oneLine(e.code === 'EPIPE' ? 'stdout closed before the output was written (EPIPE)' : e)}\n`);
  process.exit(EXIT.failed);
});
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${oneLine(e)}\n`);
    process.exitCode = EXIT.failed;
  },
);
