/**
 * The `namespace` transformer: kustomize `namespace` (builtin
 * NamespaceTransformer, api/filters/namespace/namespace.go, field specs from
 * api/konfig/builtinpluginconsts/namespace.go) plus the part of kustomize's
 * name-reference fix-up (api/filters/nameref/nameref.go `setMapping`) that a
 * namespace change triggers. Conformance findings 29-31.
 */
import { NAMESPACE_FIELD_SPECS, setScalar } from '../kube/fieldspecs.js';
import { CLUSTER_SCOPED_KINDS, gvkOf, isObject, type JsonObject, type JsonValue, type KubeObject, type ResId } from '../kube/object.js';
import { specProgram } from './apply-specs.js';
import { typeName } from './decode.js';
import { ConfigError, type TransformContext, type TransformerFactory } from './types.js';

const ROLE_BINDING_KINDS: ReadonlySet<string> = new Set(['RoleBinding', 'ClusterRoleBinding']);
const WEBHOOK_KINDS: ReadonlySet<string> = new Set(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);

/** A referral target in the stream, keyed by name: the effective original namespaces of that name. */
type Referrals = ReadonlyMap<string, ReadonlySet<string>>;

/** Names (and original effective namespaces, '' read as `default`) of the stream's objects of one v1 kind. */
function referralsOf(stream: readonly ResId[] | undefined, kind: string): Referrals {
  const out = new Map<string, Set<string>>();
  for (const id of stream ?? []) {
    if (id.kind !== kind || id.version !== 'v1') continue;
    let s = out.get(id.name);
    if (!s) out.set(id.name, (s = new Set()));
    s.add(id.namespace || 'default');
  }
  return out;
}

/**
 * Sets `namespace` on a `{name, namespace?}` reference when it refers to an
 * object of the build (nameref.go setMapping: candidates with the same name;
 * when the reference names a namespace, only candidates originally in it, else
 * those now in it). Every candidate is moved into `ns`, so the referral's new
 * namespace is `ns`.
 */
function followReferral(ref: JsonValue, refs: Referrals, ns: string): JsonValue {
  if (!isObject(ref) || typeof ref.name !== 'string') return ref;
  const origins = refs.get(ref.name);
  if (!origins) return ref;
  if ('namespace' in ref) {
    const cur = ref.namespace;
    if (typeof cur !== 'string' || (!origins.has(cur) && cur !== ns)) return ref;
  }
  return ref.namespace === ns ? ref : { ...ref, namespace: ns };
}

/** roleBindingHack: every subject named `default` gets the namespace, whatever its kind (conformance 147). */
function defaultSubject(subject: JsonValue, ns: string): JsonValue {
  if (!isObject(subject) || subject.name !== 'default' || subject.namespace === ns) return subject;
  return { ...subject, namespace: ns };
}

/** Maps a list copy-on-write. */
function mapList(list: JsonValue[], f: (v: JsonValue) => JsonValue): JsonValue[] {
  let out: JsonValue[] | undefined;
  list.forEach((v, i) => {
    const next = f(v);
    if (next !== v) (out ??= list.slice())[i] = next;
  });
  return out ?? list;
}

/** RoleBinding/ClusterRoleBinding subjects: the `default` rule, then ServiceAccounts of the build (141, 147). */
function fixSubjects(obj: KubeObject, ns: string, sas: Referrals | undefined): KubeObject {
  if (!Array.isArray(obj.subjects)) return obj;
  const rbac = gvkOf(obj).group === 'rbac.authorization.k8s.io';
  const subjects = mapList(obj.subjects, (s) => {
    const d = defaultSubject(s, ns);
    return sas && rbac ? followReferral(d, sas, ns) : d;
  });
  return subjects === obj.subjects ? obj : { ...obj, subjects };
}

/** Webhook `clientConfig.service` follows a Service of the build; untouched otherwise (145, 148). */
function fixWebhooks(obj: KubeObject, ns: string, services: Referrals): KubeObject {
  if (gvkOf(obj).group !== 'admissionregistration.k8s.io' || !Array.isArray(obj.webhooks)) return obj;
  const webhooks = mapList(obj.webhooks, (w) => {
    if (!isObject(w) || !isObject(w.clientConfig) || !isObject(w.clientConfig.service)) return w;
    const service = followReferral(w.clientConfig.service, services, ns);
    if (service === w.clientConfig.service) return w;
    return { ...w, clientConfig: { ...w.clientConfig, service } };
  });
  return webhooks === obj.webhooks ? obj : { ...obj, webhooks };
}

/** metaNamespaceHack: `metadata.namespace` on namespaced kinds only (custom kinds count as namespaced, 143, 144). */
function setMetaNamespace(obj: KubeObject, ns: string): KubeObject {
  if (CLUSTER_SCOPED_KINDS.has(gvkOf(obj).kind)) return obj;
  const meta = isObject(obj.metadata) ? obj.metadata : undefined;
  if (meta?.namespace === ns) return obj;
  const metadata: JsonObject = { ...(meta ?? {}), namespace: ns };
  return { ...obj, metadata };
}

/**
 * `namespace` (`namespaceTransformer`): a namespace name (not validated,
 * conformance 146). Render only: at admission the API server owns the
 * namespace, so it changes nothing there and reports a Warn finding on every
 * namespaced object it would have moved (docs/design.md: `run` and the
 * cluster then differ, and the user is told on each request). In render, as kustomize:
 * - `metadata.namespace` is set (overwritten, 142) on every kind that is not
 *   cluster-scoped (CLUSTER_SCOPED_KINDS; unknown kinds are namespaced, 143);
 * - the Namespace object itself is renamed to the namespace (144);
 * - APIService `spec.service.namespace` is set (created) and a CRD's
 *   conversion webhook service namespace is set when present (148);
 * - RoleBinding/ClusterRoleBinding subjects named `default` get it (147), and
 *   so does any subject naming a ServiceAccount of the stream (`ctx.stream`),
 *   when it gives no namespace or the account's original one (141);
 * - webhook `clientConfig.service` naming a Service of the stream follows it
 *   (145); others are untouched (148).
 * '' is a no-op. Throws ConfigError when the config is not a string.
 */
/**
 * At admission: the object is left as is; when `run` would have moved it (a
 * namespaced kind in another namespace), a Warn finding says so (the
 * transformer's name is the rule; no object value is quoted).
 */
function warnAtAdmission(obj: KubeObject, ns: string, ctx: TransformContext, rule: string): KubeObject {
  if (CLUSTER_SCOPED_KINDS.has(gvkOf(obj).kind) || ctx.namespace === ns) return obj;
  ctx.report({ action: 'Warn', rule, message: `namespace ${JSON.stringify(ns)} is not applied at admission (the API server owns the namespace); run would move this object` });
  return obj;
}

export const namespaceTransformer: TransformerFactory = (config, opts) => {
  if (config !== null && config !== undefined && typeof config !== 'string') {
    throw new ConfigError(`namespace must be a string, got ${typeName(config)}`, '');
  }
  const ns = config ?? '';
  const setSpecs = specProgram(NAMESPACE_FIELD_SPECS, 'scalar', setScalar(ns));
  const streams = new WeakMap<readonly ResId[], { sas: Referrals; services: Referrals }>();
  const referrals = (stream: readonly ResId[] | undefined): { sas: Referrals; services: Referrals } | undefined => {
    if (!stream) return undefined;
    let r = streams.get(stream);
    if (!r) streams.set(stream, (r = { sas: referralsOf(stream, 'ServiceAccount'), services: referralsOf(stream, 'Service') }));
    return r;
  };
  return {
    type: 'namespace',
    name: opts.name,
    apply: (obj, ctx) => {
      if (ns === '') return obj;
      if (ctx.frontDoor !== 'render') return warnAtAdmission(obj, ns, ctx, opts.name);
      let out = setMetaNamespace(obj, ns);
      out = setSpecs(out);
      const kind = gvkOf(out).kind;
      const refs = referrals(ctx.stream);
      if (ROLE_BINDING_KINDS.has(kind)) out = fixSubjects(out, ns, refs?.sas);
      if (refs && WEBHOOK_KINDS.has(kind)) out = fixWebhooks(out, ns, refs.services);
      return out;
    },
  };
};
