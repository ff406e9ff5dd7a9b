/**
 * What both manifest readers (yaml-reference-reader.ts, yaml-fast-reader.ts)
 * return and throw, and the options they take: the contract of
 * `parseManifests` in yaml-stream.ts.
 */
import type { JsonValue } from './object.js';

/** One document of a manifest stream. */
export interface ManifestDoc {
  /** The document's value: usually an object; scalars and lists pass through as they are. */
  value: JsonValue;
  /** 1-based position of the document in the stream, counting dropped empty documents. */
  docNumber: number;
  /**
   * Offsets `[start, end)` of the document's content in the parsed text, so an
   * unchanged document can be printed as its original text. The original text is
   * only equivalent for a YAML 1.1 reader if it quotes what 1.1 would re-type
   * (`on: yes` is two strings here, two booleans for Helm). Computed on first
   * access when the fast path read the stream.
   */
  source?: { start: number; end: number };
}

/**
 * A malformed manifest stream. `message` is one line:
 * `document 2, line 7, column 3: <reason>`; line and column are 1-based and
 * count from the start of the whole stream.
 */
export class ManifestParseError extends Error {
  constructor(
    readonly docNumber: number,
    readonly line: number,
    readonly col: number,
    readonly reason: string,
  ) {
    super(`document ${docNumber}, line ${line}, column ${col}: ${reason}`);
    this.name = 'ManifestParseError';
  }
}

/** Options of `parseManifests`. */
export interface ParseOptions {
  /**
   * Record which map values are empty nulls (`key:` with nothing after it), as
   * kustomize's strategic merge tells them from written nulls
   * (src/kube/empty-nulls.ts). `run` reads its input so; policy files need not.
   */
  emptyNulls?: boolean;
}
