/**
 * base64Utf8 (the admission answer's `patch` encoding) against its reference,
 * `Buffer.from(text, 'utf8').toString('base64')`: ASCII takes `btoa`, any
 * other text the buffer.
 */
import t from 'tap';
import fc from 'fast-check';
import { base64Utf8 } from '../../src/admission/review.js';

const reference = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

t.test('table', async (t) => {
  const rows: [string, string][] = [
    ['empty', ''],
    ['ASCII patch', '[{"op":"add","path":"/metadata/labels/a~1b","value":"x"}]'],
    ['control characters', '\u0000\u0001\t\n\u007f'],
    ['Latin-1 (one UTF-16 unit, two UTF-8 bytes)', '{"value":"café ÿ"}'],
    ['BMP', '{"value":"中文"}'],
    ['surrogate pair', '{"value":"😀"}'],
    ['lone surrogate', 'a\ud800b'],
    ['lone low surrogate at the end', 'ab\udc00'],
  ];
  for (const [name, s] of rows) t.equal(base64Utf8(s), reference(s), name);
});

t.test('property: any string', async (t) => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => base64Utf8(s) === reference(s)), { numRuns: 2000 });
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'é', '\ud800', '\udc00', '😀', '\u0080', '\u07ff', '\u0800'), maxLength: 16 }), (s) => base64Utf8(s) === reference(s)), { numRuns: 2000 });
  t.pass('agrees');
});
