/**
 * The `validate` transformer: config errors, findings, message resolution as
 * ValidatingAdmissionPolicy, evaluation errors, and the transformer laws
 * (frozen input untouched, same reference returned, idempotent).
 */
import t from 'tap';
import { validateTransformer } from '../../src/transform/validate.js';
import { ConfigError, makeContext, TransformError, type Finding } from '../../src/transform/types.js';
import { deepFreeze } from '../helpers/laws.js';


const deployment = deepFreeze({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'team-a', labels: { app: 'web' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'app', image: 'nginx:latest' }] } } },
});

t.test('config errors name the field', async (t) => {
  const rows: [unknown, string, RegExp][] = [
    ['x > 1', '', /must be an object/],
    [{}, 'expression', /non-empty CEL expression/],
    [{ expression: '' }, 'expression', /non-empty/],
    [{ expression: 'object.', message: 'm' }, 'expression', /syntax error/],
    [{ expression: 'params.x' }, 'expression', /undeclared reference to 'params' at 1:1/],
    [{ expression: 'true', messageExpression: 'objekt.x' }, 'messageExpression', /undeclared reference to 'objekt'/],
    [{ expression: 'true', messageExpression: '42' }, 'messageExpression', /must return string, but returns int/],
    [{ expression: "'yes'" }, 'expression', /must return bool, but returns string/],
    [{ expression: 'true', message: 3 }, 'message', /must be a string/],
    [{ expression: 'true', action: 'Audit' }, 'action', /must be one of/],
    [{ expression: 'true', rule: 'x' }, 'rule', /unknown field/],
  ];
  for (const [config, path, re] of rows) {
    let err: unknown;
    try {
      validateTransformer(config, { name: 'r' });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ConfigError, `${JSON.stringify(config)}: ConfigError`);
    t.equal((err as ConfigError).path, path, `${JSON.stringify(config)}: path`);
    t.match((err as Error).message, re, `${JSON.stringify(config)}: message`);
  }
});

t.test('findings: action, rule name, message resolution', async (t) => {
  const rows: { name: string; config: Record<string, unknown>; want: Finding[] }[] = [
    { name: 'passes', config: { expression: 'object.spec.replicas >= 2', message: 'too few' }, want: [] },
    { name: 'deny by default', config: { expression: 'object.spec.replicas >= 3', message: 'too few replicas' }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'too few replicas' }] },
    { name: 'warn', config: { expression: 'object.spec.replicas >= 3', message: 'few', action: 'Warn' }, want: [{ action: 'Warn', rule: 'min-replicas', message: 'few' }] },
    { name: 'default message', config: { expression: ' object.spec.replicas >= 3 ' }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'failed expression: object.spec.replicas >= 3' }] },
    {
      name: 'messageExpression wins',
      config: { expression: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))", message: 'no latest', messageExpression: "'image ' + object.spec.template.spec.containers[0].image + ' uses latest'" },
      want: [{ action: 'Deny', rule: 'min-replicas', message: 'image nginx:latest uses latest' }],
    },
    { name: 'messageExpression error falls back', config: { expression: 'false', message: 'fixed', messageExpression: 'object.metadata.nope' }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'fixed' }] },
    { name: 'messageExpression non-string falls back', config: { expression: 'false', message: 'fixed', messageExpression: 'object.spec.replicas' }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'fixed' }] },
    { name: 'messageExpression blank falls back', config: { expression: 'false', message: 'fixed', messageExpression: "'  '" }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'fixed' }] },
    { name: 'messageExpression with line break falls back', config: { expression: 'false', message: 'fixed', messageExpression: "'a\\nb'" }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'fixed' }] },
    { name: 'messageExpression with a carriage return falls back', config: { expression: 'false', message: 'fixed', messageExpression: "'a\\rb'" }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'fixed' }] },
    { name: 'messageExpression ending in a line break falls back', config: { expression: 'false', message: 'fixed', messageExpression: "'ab\\n'" }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'fixed' }] },
    { name: 'messageExpression with other control characters is kept', config: { expression: 'false', message: 'fixed', messageExpression: "'a\\tb\\u2028c'" }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'a\tb\u2028c' }] },
    { name: 'context variables', config: { expression: "namespaceObject.metadata.labels.env != 'prod' || request.operation != 'CREATE'", message: 'no creates in prod' }, want: [{ action: 'Deny', rule: 'min-replicas', message: 'no creates in prod' }] },
  ];
  for (const row of rows) {
    const tr = validateTransformer(row.config, { name: 'min-replicas' });
    t.equal(tr.type, 'validate');
    const findings: Finding[] = [];
    const ctx = makeContext({ namespace: 'team-a', namespaceLabels: { env: 'prod' }, report: (f) => findings.push(f) });
    const out = tr.apply(deployment, ctx);
    t.equal(out, deployment, `${row.name}: same reference`);
    t.equal(tr.apply(out!, makeContext({ namespace: 'team-a', namespaceLabels: { env: 'prod' } })), deployment, `${row.name}: idempotent`);
    t.same(findings, row.want, row.name);
  }
});

t.test('evaluation errors are TransformErrors (failurePolicy applies)', async (t) => {
  const rows: [string, RegExp][] = [
    ['object.metadata.annotations.owner == "x"', /expression failed: .*(no such key|not found)/],
    ['object.metadata.name', /must evaluate to a bool, got string$/],
    ['object.spec.replicas', /must evaluate to a bool, got number$/],
  ];
  for (const [expression, re] of rows) {
    const tr = validateTransformer({ expression }, { name: 'r' });
    t.throws(() => tr.apply(deployment, makeContext()), TransformError, expression);
    t.throws(() => tr.apply(deployment, makeContext()), re, expression);
  }
});

t.test('the evaluation bound is a TransformError; a quadratic rule is refused at load', async (t) => {
  t.throws(
    () => validateTransformer({ expression: 'object.spec.template.spec.containers.all(a, object.spec.template.spec.containers.all(b, a.name == b.name || true))' }, { name: 'quadratic' }),
    { name: 'ConfigError', path: 'expression', message: /^estimated rule cost exceeds budget by factor of more than 100x/ },
  );
  // linear: within the estimate for inputs of 128 KiB, over the runtime limit for a 1.2 MiB name
  // (each iteration and each `!=` is a unit, whatever the machine)
  const tr = validateTransformer({ expression: "object.metadata.name.split('').all(c, c != 'y')" }, { name: 'linear' });
  const big = { ...deployment, metadata: { ...deployment.metadata, name: 'x'.repeat(1_200_000) } };
  t.throws(() => tr.apply(big, makeContext()), TransformError);
  t.throws(() => tr.apply(big, makeContext()), /cost limit exceeded/);
});

t.test('rules of one evaluation share the variables of the object they see, and only of that object', async (t) => {
  // One context, as the evaluation loop passes to every transformer: each object, and each context, gets its own variables.
  const rules = [
    validateTransformer({ expression: "object.metadata.name == 'web'", message: 'not web' }, { name: 'name' }),
    validateTransformer({ expression: 'object.spec.replicas >= 2', messageExpression: "'replicas: ' + string(object.spec.replicas)" }, { name: 'replicas' }),
    validateTransformer({ expression: "request.operation == 'CREATE'", message: 'not a create' }, { name: 'create' }),
  ];
  const other = deepFreeze({ ...deployment, metadata: { ...deployment.metadata, name: 'api' }, spec: { ...deployment.spec, replicas: 1 } });
  const findings: Finding[] = [];
  const create = makeContext({ report: (f) => findings.push(f) });
  const update = makeContext({ operation: 'UPDATE', oldObject: deployment, report: (f) => findings.push(f) });
  const rows: { name: string; obj: typeof deployment; ctx: typeof create; want: string[] }[] = [
    { name: 'web on CREATE', obj: deployment, ctx: create, want: [] },
    { name: 'api, same context', obj: other, ctx: create, want: ['name: not web', 'replicas: replicas: 1'] },
    { name: 'web again, same context', obj: deployment, ctx: create, want: [] },
    { name: 'web on UPDATE', obj: deployment, ctx: update, want: ['create: not a create'] },
    { name: 'api on UPDATE', obj: other, ctx: update, want: ['name: not web', 'replicas: replicas: 1', 'create: not a create'] },
  ];
  for (const row of rows) {
    findings.length = 0;
    for (const r of rules) t.equal(r.apply(row.obj, row.ctx), row.obj, `${row.name}: ${r.name} returns its input`);
    t.same(findings.map((f) => `${f.rule}: ${f.message}`), row.want, row.name);
  }
});

t.test('at admission, rules that see a changed object in one evaluation read that object (the other variables kept)', async (t) => {
  // One admission context, objects changing between rules as a chain's transformers change them.
  const rules = [
    validateTransformer({ expression: "object.metadata.name == 'web'", message: 'not web' }, { name: 'name' }),
    validateTransformer({ expression: 'object.spec.replicas >= 2', messageExpression: "'replicas: ' + string(object.spec.replicas)" }, { name: 'replicas' }),
    validateTransformer({ expression: "request.operation == 'CREATE' && request.name == 'req' && !has(request.object)", message: 'request' }, { name: 'request' }),
    validateTransformer({ expression: "namespaceObject.metadata.name == 'shop'", message: 'namespace' }, { name: 'namespace' }),
  ];
  const other = deepFreeze({ ...deployment, metadata: { ...deployment.metadata, name: 'api' }, spec: { ...deployment.spec, replicas: 1 } });
  const findings: Finding[] = [];
  const request = { uid: 'u', operation: 'CREATE', name: 'req', object: deployment };
  const admission = makeContext({ frontDoor: 'admission', namespace: 'shop', request, report: (f) => findings.push(f) });
  const rows: [string, typeof deployment, string[]][] = [
    ['web', deployment, []],
    ['api, same context', other, ['name: not web', 'replicas: replicas: 1']],
    ['web again', deployment, []],
    ['api again', other, ['name: not web', 'replicas: replicas: 1']],
  ];
  for (const [name, obj, want] of rows) {
    findings.length = 0;
    for (const r of rules) r.apply(obj, admission);
    t.same(findings.map((f) => `${f.rule}: ${f.message}`), want, name);
  }
  // Rules interleaved with objects: each rule reads the object it is given.
  findings.length = 0;
  rules[0]!.apply(deployment, admission);
  rules[0]!.apply(other, admission);
  rules[1]!.apply(deployment, admission);
  rules[1]!.apply(other, admission);
  t.same(findings.map((f) => `${f.rule}: ${f.message}`), ['name: not web', 'replicas: replicas: 1'], 'interleaved');
});
