/**
 * `kube-postrender webhook-config -c POLICIES`: prints the
 * MutatingWebhookConfiguration and ValidatingWebhookConfiguration those
 * policies need (src/policy/webhook-config.ts), as YAML on stdout, for GitOps;
 * notes on widened rules (custom resource kinds) go to stderr. Exit 0, or 2
 * on a policy or flag error (nothing on stdout). No policies: configurations
 * with no rules (the API server then never calls the webhook).
 */
import { readFileSync } from 'node:fs';
import { printManifests } from '../kube/yaml-stream.js';
import { webhookConfigurations } from '../policy/webhook-config.js';
import { CURRENT_SERVER, serverFeatures } from '../policy/webhook-rules.js';
import { loadForCommand } from './policies.js';
import { EXIT, oneLine } from './io.js';

/** Options of `webhook-config`. */
export interface WebhookConfigOptions {
  config: string[];
  /** Configuration and Service name (default kube-postrender). */
  name?: string;
  /** The webhook's namespace (default kube-postrender). */
  namespace?: string;
  /** PEM file whose content becomes `caBundle` (base64). */
  caFile?: string;
  /** `--kubernetes-version 1.20`: degrade for that API server (no matchConditions before 1.28). */
  kubernetesVersion?: string;
  timeoutSeconds?: number;
}

/** Runs the command; returns the exit code. */
export async function webhookConfigCommand(opts: WebhookConfigOptions): Promise<number> {
  let server = CURRENT_SERVER;
  if (opts.kubernetesVersion !== undefined) {
    const m = /^v?(\d+)\.(\d+)/.exec(opts.kubernetesVersion);
    if (!m) {
      process.stderr.write(`kube-postrender: --kubernetes-version ${JSON.stringify(opts.kubernetesVersion)}: expected MAJOR.MINOR\n`);
      return EXIT.usage;
    }
    server = serverFeatures(m[1], m[2]);
  }
  let caBundle: string | undefined;
  try {
    caBundle = opts.caFile ? readFileSync(opts.caFile).toString('base64') : undefined;
  } catch (e) {
    process.stderr.write(`${oneLine(e)}\n`);
    return EXIT.usage;
  }
  const loaded = loadForCommand(opts.config, { ownNamespace: opts.namespace ?? 'kube-postrender' });
  if (!loaded) return EXIT.usage;
  const { mutating, validating, notes } = webhookConfigurations(
    loaded.policies,
    { name: opts.name ?? 'kube-postrender', namespace: opts.namespace ?? 'kube-postrender', caBundle, timeoutSeconds: opts.timeoutSeconds },
    { server },
  );
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  process.stdout.write(printManifests([mutating, validating]));
  return EXIT.ok;
}
