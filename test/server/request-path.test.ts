/**
 * The admission request path's small fast paths against their reference
 * forms: the in-flight limiter's Content-Length reader (the regex it
 * replaced) and the memo of the API server's `?timeout=` (parseTimeout).
 */
import t from 'tap';
import { contentLength } from '../../src/server/limits.js';
import { parseTimeout, timeoutParser } from '../../src/server/app.js';

t.test('contentLength reads what /^\\d{1,12}$/ accepts, as Number does', async (t) => {
  const reference = (h: unknown): number | undefined => (typeof h === 'string' && /^\d{1,12}$/.test(h) ? Number(h) : undefined);
  const rows: unknown[] = [
    '0', '7', '10240', '007', '999999999999', '1000000000000', '', ' 1', '1 ', '+1', '-1', '1e3', '0x10', '1.0', '12a', 'a12', '١٢',
    '/', ':', '123456789012', '1234567890123', undefined, 42, ['1'], null,
  ];
  for (const h of rows) t.equal(contentLength(h), reference(h), `content-length ${JSON.stringify(h)}`);
  for (let i = 0; i < 2000; i++) {
    const len = 1 + (i % 14);
    const h = Array.from({ length: len }, (_, j) => String.fromCharCode(44 + ((i * 7 + j * 13) % 16))).join('');
    t.equal(contentLength(h), reference(h), `content-length ${h}`);
  }
});

t.test('timeoutParser gives parseTimeout\'s answer for every value of a sequence', async (t) => {
  const parse = timeoutParser();
  const values: unknown[] = ['10s', '10s', '5s', '10s', '', '', '1m30s', 'garbage', 'garbage', '10s', undefined, '10s', 7, '500ms', '0s', '0s', 'x'.repeat(40), '10s', ['10s'], '1.5h'];
  for (const [i, v] of values.entries()) t.equal(parse(v), parseTimeout(v), `#${i} ${JSON.stringify(v)}`);
});
