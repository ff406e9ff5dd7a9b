/**
 * The corpus of real rendered manifests (`test/data/corpus`, copied from
 * the shared corpus with its SOURCES.md and license) for tests.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifests } from '../../src/kube/yaml-stream.js';
import { isListObject, isObject, type JsonObject, type JsonValue } from '../../src/kube/object.js';
import { dataPath } from './testdata.js';

/** `test/data/corpus` (throws when missing: the corpus suites never skip). */
export const CORPUS_DIR = dataPath('corpus');

/** Every .yaml file under the corpus, sorted. */
export function corpusFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.yaml')) out.push(p);
    }
  };
  walk(CORPUS_DIR);
  return out;
}

/** The objects of a stream, `*List` items flattened, as JSON (what the API server decodes). */
export function streamObjects(text: string): JsonObject[] {
  return parseManifests(text)
    .map((d) => d.value)
    .flatMap((v) => (isObject(v) && isListObject(v) ? (v.items as JsonValue[]) : [v]))
    .filter(isObject)
    .map((o) => JSON.parse(JSON.stringify(o)) as JsonObject);
}
