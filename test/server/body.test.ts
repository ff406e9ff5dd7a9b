/**
 * The app's JSON parser reads bodies with `readBody` (src/server/body.ts), not
 * fastify's `parseAs: 'buffer'`: the same answers for the same requests as
 * fastify's own parser (the app without a worker), for bodies in one chunk
 * or many (a character split between chunks), empty, invalid, over the body
 * limit, with a wrong Content-Length, and over `inlineBodyLimit` (the copy
 * kept for the worker).
 */
import t from 'tap';
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { buildApp } from '../../src/server/app.js';
import { bodyCopy, readBody, type ReceivedBody } from '../../src/server/body.js';
import type { EvaluationWorker } from '../../src/server/evaluation-pool.js';
import { fakePolicies } from '../admission/fake-policies.js';

const recorded = JSON.parse(readFileSync(new URL('../data/admission/recorded/', import.meta.url).pathname + '124-mutate-Pod-CREATE-bare.json', 'utf8')) as { review: { request: { object: { metadata: Record<string, unknown> } } } };
const review = recorded.review;
/** The review with a label value of multi-byte characters (split between chunks below). */
const wide = JSON.stringify({ ...review, request: { ...review.request, object: { ...review.request.object, metadata: { ...review.request.object.metadata, labels: { l: 'é€😀'.repeat(50) } } } } });
const good = JSON.stringify(review);
const protoKeys = JSON.stringify({ ...review, request: { ...review.request, object: { ...review.request.object, data: JSON.parse('{"__proto__":{"x":1},"constructor":{"prototype":{}}}') as unknown } } });

/** `text` as a stream of chunks of `size` bytes (the last shorter). */
function chunked(text: string, size: number): () => Readable {
  const bytes = Buffer.from(text);
  return () => Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)), { objectMode: false });
}

t.test("the app's parser answers as fastify's, request by request", async (t) => {
  const bodyLimit = 64 * 1024;
  const reference = buildApp({ getPolicies: () => fakePolicies(), bodyLimit });
  const ours = buildApp({ getPolicies: () => fakePolicies(), bodyLimit, evaluationWorker: { usable: false } as EvaluationWorker });
  // A small inlineBodyLimit: bodies over it are kept as a copy (RawReviewBody) and parsed by the handler.
  const copying = buildApp({ getPolicies: () => fakePolicies(), bodyLimit, evaluationWorker: { usable: false } as EvaluationWorker, inlineBodyLimit: 100 });
  t.teardown(() => Promise.all([reference.close(), ours.close(), copying.close()]));
  const rows: { name: string; payload: string | (() => Readable); headers?: Record<string, string> }[] = [
    { name: 'one chunk', payload: good },
    { name: 'multi-byte characters, one chunk', payload: wide },
    { name: 'chunks of 1,000 bytes', payload: chunked(good, 1000) },
    { name: 'chunks of 7 bytes, characters split', payload: chunked(wide, 7) },
    { name: '__proto__ and constructor keys kept as data', payload: protoKeys },
    { name: 'empty', payload: '' },
    { name: 'empty stream', payload: chunked('', 10) },
    { name: 'invalid JSON', payload: '{"apiVersion": ' },
    { name: 'invalid JSON in chunks', payload: chunked('{"apiVersion": "v1", ', 4) },
    { name: 'not an AdmissionReview', payload: '[1,2]' },
    { name: 'too deep', payload: `${'['.repeat(2000)}${']'.repeat(2000)}` },
    { name: 'over the body limit', payload: `{"x":"${'a'.repeat(bodyLimit)}"}` },
    { name: 'over the body limit in chunks', payload: chunked(`{"x":"${'a'.repeat(bodyLimit)}"}`, 4096) },
    { name: 'declared over the body limit', payload: good, headers: { 'content-length': String(bodyLimit + 1) } },
    { name: 'declared shorter than sent', payload: good, headers: { 'content-length': String(good.length - 1) } },
    { name: 'declared longer than sent', payload: good, headers: { 'content-length': String(good.length + 1) } },
    { name: 'declared shorter, in chunks', payload: chunked(good, 1000), headers: { 'content-length': '10' } },
  ];
  for (const row of rows) {
    const request = (app: ReturnType<typeof buildApp>) =>
      app.inject({ method: 'POST', url: '/mutate', headers: { 'content-type': 'application/json', ...row.headers }, payload: typeof row.payload === 'string' ? row.payload : row.payload() });
    const want = await request(reference);
    for (const [name, app] of [['ours', ours], ['copying', copying]] as const) {
      const got = await request(app);
      t.same({ status: got.statusCode, body: got.body }, { status: want.statusCode, body: want.body }, `${row.name}, ${name}: ${want.statusCode}`);
    }
  }
});

/** A request with these headers, for `readBody`. */
const head = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

/** `readBody`'s result for a stream of `chunks`. */
function read(chunks: (Buffer | string)[], limit: number, headers: Record<string, string> = {}, error?: Error): Promise<{ err: (Error & { statusCode?: number; code?: string }) | null; body?: ReceivedBody }> {
  return new Promise((resolve) => {
    const stream = new Readable({ read() {} });
    readBody(head(headers), stream, limit, (err, body) => resolve({ err, body }));
    for (const c of chunks) stream.push(c);
    if (error) stream.destroy(error);
    else stream.push(null);
  });
}

t.test('readBody: one chunk as received, several in order, fastify\'s errors', async (t) => {
  const one = await read([Buffer.from('abc')], 10);
  t.equal(one.body?.one?.toString(), 'abc', 'one chunk: kept as received');
  t.equal(one.body?.many, undefined);
  const three = await read([Buffer.from('ab'), 'c', Buffer.from('de')], 10, { 'content-length': '5' });
  t.equal(three.body?.one, undefined, 'three chunks: no single one');
  t.equal(three.body?.length, 5);
  t.equal(bodyCopy(three.body as ReceivedBody).toString(), 'abcde', 'joined in order');
  const copy = bodyCopy(one.body as ReceivedBody);
  copy[0] = 0x7a;
  t.equal(one.body?.one?.toString(), 'abc', 'a copy: writing it leaves the chunk as received');
  t.equal((await read([], 10)).body?.length, 0, 'empty');
  t.equal((await read([Buffer.from('abc')], 2)).err?.code, 'FST_ERR_CTP_BODY_TOO_LARGE', 'over the limit');
  t.equal((await read([Buffer.from('ab'), Buffer.from('c')], 2)).err?.code, 'FST_ERR_CTP_BODY_TOO_LARGE', 'over the limit at the second chunk');
  t.equal((await read([Buffer.from('ab')], 2)).err, null, 'at the limit');
  t.equal((await read([Buffer.from('ab')], 2, { 'content-length': '3' })).err?.code, 'FST_ERR_CTP_BODY_TOO_LARGE', 'declared over the limit');
  t.equal((await read([Buffer.from('ab')], 9, { 'content-length': '3' })).err?.code, 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', 'declared longer');
  t.equal((await read([Buffer.from('abcd')], 9, { 'content-length': '3' })).err?.code, 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', 'declared shorter');
  const aborted = await read([Buffer.from('ab')], 9, {}, Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  t.match(aborted.err, { message: 'aborted', statusCode: 400 }, 'a stream error: 400');
  const own = await read([], 9, {}, Object.assign(new Error('x'), { statusCode: 503 }));
  t.equal(own.err?.statusCode, 503, "a stream error's own status stays");
});
