#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node, CPU) runner for benchmarks/peers.py.
//
//   node ort_bench.js --ort DIR --model M.onnx --input X.f32 --shape 1,3,H,W
//        --threads N --repeat R --warmup W --out Y.f32 --json RESULT.json
//
// DIR is the folder whose node_modules/ holds onnxruntime-node (peers.py's
// cache). X.f32 is raw float32 (NCHW). Runs W untimed then R timed
// inferences in this one process, writes the last output as raw float32 to
// Y.f32 and a JSON object (times, output shape, versions, maxRSS) to
// RESULT.json. Session: intraOpNumThreads N, interOpNumThreads 1, sequential
// execution, all graph optimizations, CPU execution provider.
'use strict';
const fs = require('fs');
const path = require('path');

function args(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length)
      throw new Error('bad argument ' + argv[i]);
    a[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['ort', 'model', 'input', 'shape', 'threads', 'repeat', 'warmup', 'out', 'json'])
    if (!(k in a)) throw new Error('missing --' + k);
  return a;
}

function median(v) {
  const s = [...v].sort((x, y) => x - y), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

async function main() {
  const a = args(process.argv.slice(2));
  const pkgDir = path.join(a.ort, 'node_modules', 'onnxruntime-node');
  const ort = require(pkgDir);
  const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  const threads = parseInt(a.threads, 10), repeat = parseInt(a.repeat, 10),
    warmup = parseInt(a.warmup, 10);
  const dims = a.shape.split(',').map(Number);

  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const setupMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const buf = fs.readFileSync(a.input);
  const n = dims.reduce((x, y) => x * y, 1);
  if (buf.length !== 4 * n) throw new Error(`input has ${buf.length} bytes, shape needs ${4 * n}`);
  // copy: a Buffer's offset need not be 4-aligned
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  const outName = session.outputNames[0];

  let out = null;
  for (let i = 0; i < warmup; i++) out = (await session.run(feeds))[outName];
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const s = process.hrtime.bigint();
    out = (await session.run(feeds))[outName];
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  const od = out.data;
  fs.writeFileSync(a.out, Buffer.from(od.buffer, od.byteOffset, od.byteLength));
  const res = {
    runtime: 'ort',
    median_ms: median(times),
    min_ms: Math.min(...times),
    max_ms: Math.max(...times),
    times_ms: times,
    setup_ms: setupMs,
    out_shape: out.dims.map(Number),
    self_peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    versions: { 'onnxruntime-node': version, node: process.version },
  };
  fs.writeFileSync(a.json, JSON.stringify(res));
}

main().catch((e) => {
  console.error('ort_bench: ' + (e && e.message ? e.message : String(e)));
  process.exit(1);
});
