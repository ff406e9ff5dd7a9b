import t from 'tap';
import { compileTarget, parseLabelSelector, compileLabelSelector, SelectorError } from '../../src/kube/selector.js';

const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'shop-api', namespace: 'prod', labels: { tier: 'web', env: 'prod' }, annotations: { owner: 'a' } } };
const cr = { apiVersion: 'extensions.example.com/v1', kind: 'Deployment', metadata: { name: 'x' } };

t.test('targets are anchored regexes (kustomize SelectorRegex)', async (t) => {
  const cases: [object, object, boolean][] = [
    [{ kind: 'Deployment' }, dep, true],
    [{ kind: 'Deployment' }, cr, true],
    [{ group: 'apps', kind: 'Deployment' }, cr, false],
    [{ name: 'shop' }, dep, false],
    [{ name: '.*-api' }, dep, true],
    [{ kind: 'StatefulSet|Deployment' }, dep, true],
    [{ version: 'v1' }, cr, true],
    [{ namespace: 'prod' }, dep, true],
    [{ namespace: 'dev' }, dep, false],
    [{ labelSelector: 'tier=web,env notin (staging)' }, dep, true],
    [{ labelSelector: 'env notin (staging)' }, cr, true],
    [{ labelSelector: 'env in (staging, dev)' }, dep, false],
    [{ annotationSelector: 'owner' }, dep, true],
    [{ annotationSelector: '!owner' }, dep, false],
  ];
  for (const [target, obj, want] of cases) {
    t.equal(compileTarget(target)(obj as never), want, `${JSON.stringify(target)} on ${(obj as { apiVersion: string }).apiVersion}`);
  }
});

t.test('admission namespace overrides metadata', async (t) => {
  t.equal(compileTarget({ namespace: 'team-a' })(cr as never, 'team-a'), true);
});

t.test('invalid patterns throw SelectorError with the field', async (t) => {
  t.throws(() => compileTarget({ name: '(' }), SelectorError);
  t.throws(() => parseLabelSelector('a=b,=c'), SelectorError);
  try { compileTarget({ kind: '[' }); } catch (e) { t.equal((e as SelectorError).path, 'kind'); }
});

t.test('metav1.LabelSelector', async (t) => {
  const p = compileLabelSelector({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'DoesNotExist' }] });
  t.equal(p({ a: '1' }), true);
  t.equal(p({ a: '1', b: '' }), false);
  t.equal(compileLabelSelector({})({}), true);
});
