/**
 * Kubernetes' named formats for CEL (k8s.io/apiserver/pkg/cel/library/format.go):
 * `format.named(name)` (an optional Format), `format.<name>()`, and
 * `<Format>.validate(string)`: optional.none when valid, else the list of
 * validation errors, with the messages of k8s.io/apimachinery/pkg/util/validation.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { Optional } from '@marcbachmann/cel-js';
import { parseURL } from './urls.js';

const LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN_FMT = `${LABEL_FMT}(\\.${LABEL_FMT})*`;
const DNS1035_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`;
const QNAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

const full = (fmt: string): RegExp => new RegExp(`^(?:${fmt})$`);

/** validation.RegexError. */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) out += ' or ';
    out += `'${e}', `;
  });
  return `${out}regex used for validation is '${fmt}')`;
}

const maxLen = (n: number): string => `must be no more than ${n} characters`;

function dns1123Label(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push(maxLen(63));
  if (!full(LABEL_FMT).test(s)) errs.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", LABEL_FMT, 'my-name', '123-abc'));
  return errs;
}

function dns1123Subdomain(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 253) errs.push(maxLen(253));
  if (!full(SUBDOMAIN_FMT).test(s)) errs.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

function dns1035Label(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push(maxLen(63));
  if (!full(DNS1035_FMT).test(s)) errs.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", DNS1035_FMT, 'my-name', 'abc-123'));
  return errs;
}

function qualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [`a qualified name ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
  if (!full(QNAME_FMT).test(name)) errs.push(`name part ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

function labelValue(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 63) errs.push(maxLen(63));
  if (!full(LABEL_VALUE_FMT).test(s)) errs.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

/** apimachinery maskTrailingDash: a prefix may end with '-'. */
const prefixed = (f: (s: string) => string[]) => (s: string): string[] => f(s.length > 1 && s.endsWith('-') ? `${s.slice(0, -1)}a` : s);

const UUID = /^(?:[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|[0-9a-f]{32})$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

function validDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/**
 * A named format: its name, its validation, and the length of the longest
 * regex it may run (library/format.go MaxRegexSize: what `validate` is
 * charged for, src/expr/call-cost.ts).
 */
export class Format {
  constructor(
    readonly name: string,
    readonly validate: (s: string) => string[],
    readonly maxRegexSize: number,
  ) {}
}

/**
 * MaxRegexSize of the CRD formats (library/format.go): the lengths of the
 * patterns Kubernetes estimates them by (govalidator URL 1,120 and Base64 84,
 * strfmt UUIDPattern 85 and DateTimePattern 71 characters).
 */
const URI_REGEX_SIZE = 1120;
const UUID_REGEX_SIZE = 85;
const BASE64_REGEX_SIZE = 84;
const DATETIME_REGEX_SIZE = 71;

/** The largest MaxRegexSize of all formats: what the static estimate charges `validate` for (src/expr/cost-estimate.ts). */
export const MAX_FORMAT_REGEX_SIZE = URI_REGEX_SIZE;

const FORMATS: Record<string, Format> = {
  dns1123Label: new Format('DNS1123Label', dns1123Label, 30),
  dns1123Subdomain: new Format('DNS1123Subdomain', dns1123Subdomain, 60),
  dns1035Label: new Format('DNS1035Label', dns1035Label, 30),
  qualifiedName: new Format('QualifiedName', qualifiedName, 60),
  dns1123LabelPrefix: new Format('DNS1123LabelPrefix', prefixed(dns1123Label), 30),
  dns1123SubdomainPrefix: new Format('DNS1123SubdomainPrefix', prefixed(dns1123Subdomain), 60),
  dns1035LabelPrefix: new Format('DNS1035LabelPrefix', prefixed(dns1035Label), 30),
  labelValue: new Format('LabelValue', labelValue, 40),
  uri: new Format('URI', (s) => {
    try {
      parseURL(s);
      return [];
    } catch {
      return [`parse ${JSON.stringify(s)}: invalid URI for request`];
    }
  }, URI_REGEX_SIZE),
  uuid: new Format('uuid', (s) => (UUID.test(s) ? [] : ['does not match the UUID format']), UUID_REGEX_SIZE),
  byte: new Format('byte', (s) => (BASE64.test(s) ? [] : ['invalid base64']), BASE64_REGEX_SIZE),
  date: new Format('date', (s) => (validDate(s) ? [] : ['invalid date']), DATETIME_REGEX_SIZE),
  datetime: new Format('datetime', (s) => (DATETIME.test(s) && validDate(s.slice(0, 10)) ? [] : ['invalid datetime']), DATETIME_REGEX_SIZE),
};

/** Registers the format library. */
export function registerFormat(env: Environment): void {
  class FormatNamespace {}
  env.registerType('FormatNamespace', FormatNamespace as never);
  env.registerType('kubernetes.NamedFormat', Format as never);
  env.registerConstant('format', 'FormatNamespace', new FormatNamespace());
  env.registerFunction('FormatNamespace.named(string): optional<kubernetes.NamedFormat>', (_ns: unknown, name: string) =>
    Object.prototype.hasOwnProperty.call(FORMATS, name) ? Optional.of(FORMATS[name]) : Optional.none(),
  );
  for (const [name, f] of Object.entries(FORMATS)) env.registerFunction(`FormatNamespace.${name}(): kubernetes.NamedFormat`, () => f);
  env.registerFunction('kubernetes.NamedFormat.validate(string): optional<list<string>>', (f: Format, s: string) => {
    const errs = f.validate(s);
    return errs.length === 0 ? Optional.none() : Optional.of(errs);
  });
}
