/**
 * Bench server processes, for bench/run.mjs and bench/server-ab.mjs: pinning
 * and starting `bench/server.mjs` (the floor, or `serve` with policies) of a
 * checkout, talking to it over IPC.
 */
import { fork, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This checkout (the default `root` of startBenchServer). */
const here = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Pinning (issue 18): with `taskset` and at least 2 CPUs, every bench server
 * (ours and the floor) runs on CPU 0 and the load generator on CPU 1, so the
 * generator's own work never competes with the server measured. Without
 * pinning, the generator's work on bigger responses hides part of the
 * server's cost and ratios flatter the server. BENCH_PIN=0 turns it off.
 */
export const PIN = process.env.BENCH_PIN !== '0' && cpus().length >= 2 && spawnSync('taskset', ['-V'], { encoding: 'utf8' }).status === 0;

/** Pins process `pid` (all its threads) to CPU `cpu` when PIN; throws when taskset fails. */
export function pin(pid, cpu) {
  if (!PIN) return;
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset failed: ${r.stderr}`);
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `bench/server.mjs MODE PORT POLICIES...` of checkout `root` (default
 * this one; its `dist/` built) pinned to CPU 0; resolves once it listens with
 * `{url, call(cmd), stop(), kill()}` (`call`: the IPC commands `mark`,
 * `report`; `stop`: a clean exit; `kill`: SIGKILL). Rejects when it does not
 * start within 20 s, with its stderr.
 */
export async function startBenchServer(mode, policies = [], root = here) {
  const port = await freePort();
  const child = fork(join(root, 'bench/server.mjs'), [mode, String(port), ...policies], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const waiters = [];
  child.on('message', (m) => { const w = waiters.shift(); if (w) w(m); });
  const next = () => new Promise((resolve) => waiters.push(resolve));
  const ready = await Promise.race([next(), new Promise((_, rej) => setTimeout(() => rej(new Error(`${mode} did not start: ${stderr}`)), 20_000))]);
  if (ready.cmd !== 'ready') throw new Error(`unexpected ${JSON.stringify(ready)}`);
  pin(child.pid, 0);
  return {
    url: `https://127.0.0.1:${port}/mutate`,
    call: (cmd) => { const p = next(); child.send({ cmd }); return p; },
    stop: () => new Promise((resolve) => { child.once('exit', resolve); child.send({ cmd: 'exit' }); }),
    kill: () => child.kill('SIGKILL'),
  };
}
