/**
 * The `yaml` package, loaded on first use: the reference manifest reader
 * (yaml-reference-reader.ts) and printer (yaml-reference-printer.ts), the fast
 * reader's lazy `source` offsets and patch/patch-text.ts's YAML 1.1 reader.
 * `run` on a plain stream never loads it (~70 files and 13-19 ms).
 */
import { createRequire } from 'node:module';

type YamlPackage = typeof import('yaml');
let yamlPackage: YamlPackage | undefined;

/** The `yaml` package, required on first use and cached for the process. */
export function yamlPkg(): YamlPackage {
  return (yamlPackage ??= createRequire(import.meta.url)('yaml') as YamlPackage);
}

/**
 * How the reference reader parses (`parseAllDocuments` options): failsafe
 * schema, so every scalar arrives as text and yaml-scalars.ts types it as
 * go-yaml v3 would; duplicate keys and merge keys are handled by the reader.
 */
export const REFERENCE_PARSE_OPTIONS = { schema: 'failsafe', prettyErrors: false, uniqueKeys: false, merge: false, strict: true } as const;
