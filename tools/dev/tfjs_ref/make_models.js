#!/usr/bin/env node
/*
 * make_models.js OUTDIR: reference Keras-style classifiers for fcn's Keras /
 * TF.js converter tests, built and run with TensorFlow.js (@tensorflow/tfjs,
 * CPU backend, float32). Driven by tools/dev/gen_keras_fixtures.py.
 *
 * For every case it writes OUTDIR/<case>/:
 *   model.json + group1-shard*.bin  the classifier as a TF.js layers model
 *                                   (float32, or float16 / uint8-quantized
 *                                   weights in TF.js's manifest format)
 *   in_<k>.f32, out_<k>.f32         raw little-endian float32 inputs (C,H,W)
 *                                   and expected score maps (classes,H',W')
 *   case.json                       what those files are
 *
 * Models get deterministic random weights (BatchNormalization: random gamma,
 * beta, moving mean and variance). Expected maps:
 *   - at the trained size: the classifier itself (model.predict);
 *   - on larger inputs: the FCN the classifier becomes, built here as a second
 *     tfjs model: Flatten -> Dense is a Conv2D whose kernel is the trained map
 *     size (the Dense kernel reshaped), later Dense layers are 1x1 Conv2Ds,
 *     GlobalAveragePooling2D / GlobalMaxPooling2D -> Dense is an
 *     AveragePooling2D / MaxPooling2D with the trained map as window and
 *     stride 1, then a 1x1 Conv2D; a SAME convolution with stride > 1 becomes
 *     ZeroPadding2D with the pads TensorFlow uses at the *trained* size plus a
 *     VALID convolution (that is what fcn does; TensorFlow would recompute the
 *     pads for the larger input). For VALID models (no padding anywhere) the
 *     expected map is instead the classifier run on every crop of the trained
 *     size at the backbone stride, and the FCN model must agree with it.
 *   - with gap=local: the FCN without its global pool (head at every cell).
 * Quantized variants are saved, loaded back through tf.io.fromMemory (TF.js
 * decodes the quantized weights itself) and the reference uses that model.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

// ---------------------------------------------------------------- random
function makeRng(seed) {
  let a = seed >>> 0;
  const u = () => {  // mulberry32
    a = (a + 0x6D2B79F5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = () => {
    const u1 = u() || 1e-12, u2 = u();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
  return {u, n};
}

const prod = (a) => a.reduce((x, y) => x * y, 1);
const pair = (v) => (Array.isArray(v) ? v : [v, v]);

function samePads(size, k, s, d) {
  const keff = (k - 1) * d + 1, out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + keff - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function initWeights(model, rng) {
  for (const layer of model.layers) {
    const vars = layer.weights;
    if (!vars.length) continue;
    const vals = vars.map((v) => {
      const shape = v.shape, n = prod(shape);
      const kind = v.originalName.split('/').pop();
      const a = new Float32Array(n);
      let f;
      if (kind === 'depthwise_kernel') {
        const sd = Math.sqrt(2 / (shape[0] * shape[1]));
        f = () => rng.n() * sd;
      } else if (kind.endsWith('kernel')) {
        const sd = Math.sqrt(2 / prod(shape.slice(0, -1)));
        f = () => rng.n() * sd;
      } else if (kind === 'bias') f = () => rng.n() * 0.1;
      else if (kind === 'gamma') f = () => 0.6 + 0.8 * rng.u();
      else if (kind === 'beta') f = () => rng.n() * 0.2;
      else if (kind === 'moving_mean') f = () => rng.n() * 0.3;
      else if (kind === 'moving_variance') f = () => 0.4 + 1.2 * rng.u();
      else throw new Error('no initializer for weight ' + v.originalName);
      for (let i = 0; i < n; i++) a[i] = f();
      return tf.tensor(a, shape);
    });
    layer.setWeights(vals);
  }
}

// ---------------------------------------------------------------- builder
/*
 * One build function per case describes the classifier through a Builder;
 * mode 'clf' builds the classifier as saved (Sequential when the case says
 * so), 'ref' the same classifier as the reference runs it (Functional, with
 * workarounds for tfjs bugs), 'fcn' its fully convolutional twin, 'local' the
 * FCN without global pools. The FCN twin reuses layer names so weights map by name;
 * `xform` reshapes Dense kernels for the convolutions that replace them.
 */
class Builder {
  constructor(mode, spec, clf) {
    this.mode = mode;
    this.spec = spec;
    this.seq = !!spec.sequential && mode === 'clf';
    this.df = spec.dataFormat || 'channelsLast';
    this.cf = this.df === 'channelsFirst';
    this.clf = clf;
    this.layers = [];
    this.xform = {};
    this.flat = new Map();
  }
  get fcn() { return this.mode === 'fcn' || this.mode === 'local'; }
  input(shape) {
    this.inShape = shape;
    if (this.seq) return {seq: true};
    this.inputTensor = tf.input({shape, name: 'input_1'});
    return this.inputTensor;
  }
  L(kind, cfg, x) {
    if (this.seq) {
      if (!this.layers.length) cfg = Object.assign({inputShape: this.inShape}, cfg);
      this.layers.push(tf.layers[kind](cfg));
      return x;
    }
    return tf.layers[kind](cfg).apply(x);
  }
  trainedIn(name) {  // the input map of layer `name` at the trained size: [C,H,W]
    const s = this.clf.getLayer(name).input.shape;
    return this.cf ? [s[1], s[2], s[3]] : [s[3], s[1], s[2]];
  }
  hw(x) { const s = x.shape; return this.cf ? [s[2], s[3]] : [s[1], s[2]]; }

  _conv(kind, x, cfg) {
    cfg = Object.assign({dataFormat: this.df}, cfg);
    const [sh, sw] = pair(cfg.strides || 1);
    if (this.fcn && cfg.padding === 'same' && (sh > 1 || sw > 1)) {
      const [, H, W] = this.trainedIn(cfg.name);
      const [kh, kw] = pair(cfg.kernelSize), [dh, dw] = pair(cfg.dilationRate || 1);
      const ph = samePads(H, kh, sh, dh), pw = samePads(W, kw, sw, dw);
      x = this.L('zeroPadding2d', {padding: [ph, pw], dataFormat: this.df,
                                   name: cfg.name + '__pad'}, x);
      cfg = Object.assign({}, cfg, {padding: 'valid'});
    }
    return this.L(kind, cfg, x);
  }
  conv(x, cfg) { return this._conv('conv2d', x, cfg); }
  dwconv(x, cfg) { return this._conv('depthwiseConv2d', x, cfg); }
  sepconv(x, cfg) { return this._conv('separableConv2d', x, cfg); }
  _pool(kind, x, cfg) {
    cfg = Object.assign({dataFormat: this.df}, cfg);
    const k = pair(cfg.poolSize), s = pair(cfg.strides || cfg.poolSize);
    if (this.fcn && cfg.padding === 'same' && (s[0] > 1 || s[1] > 1)) {
      const [, H, W] = this.trainedIn(cfg.name), [h, w] = this.hw(x);
      const same = (a, b) => a[0] === b[0] && a[1] === b[1];
      if (!same(samePads(H, k[0], s[0], 1), samePads(h, k[0], s[0], 1)) ||
          !same(samePads(W, k[1], s[1], 1), samePads(w, k[1], s[1], 1)))
        throw new Error(`${cfg.name}: SAME pool pads at ${h}x${w} differ from the ` +
                        'trained ones; pick another test size');
    }
    return this.L(kind, cfg, x);
  }
  maxpool(x, cfg) { return this._pool('maxPooling2d', x, cfg); }
  avgpool(x, cfg) { return this._pool('averagePooling2d', x, cfg); }
  _gpool(kind, window, x, cfg) {
    if (this.mode === 'clf') return this.L(kind, Object.assign({dataFormat: this.df}, cfg), x);
    if (this.mode === 'local') return x;
    const [, H, W] = this.trainedIn(cfg.name);
    return this.L(window, {poolSize: [H, W], strides: 1, padding: 'valid',
                           dataFormat: this.df, name: cfg.name}, x);
  }
  gap(x, cfg) { return this._gpool('globalAveragePooling2d', 'averagePooling2d', x, cfg); }
  gmp(x, cfg) { return this._gpool('globalMaxPooling2d', 'maxPooling2d', x, cfg); }
  flatten(x, cfg) {
    if (!this.fcn) return this.L('flatten', cfg, x);
    this.flat.set(x, cfg);
    return x;
  }
  dense(x, cfg) {
    if (!this.fcn) return this.L('dense', cfg, x);
    const f = this.flat.get(x);
    let kh = 1, kw = 1, C = 0, chw = false;
    if (f) {
      [C, kh, kw] = this.trainedIn(f.name);
      chw = this.cf && f.dataFormat !== 'channelsFirst';
    }
    this.xform[cfg.name] = (ws) => {
      const [k, ...rest] = ws, [K, N] = k.shape;
      const k4 = chw ? k.reshape([C, kh, kw, N]).transpose([1, 2, 0, 3])
                     : k.reshape([kh, kw, K / (kh * kw), N]);
      return [k4, ...rest];
    };
    let act = cfg.activation || 'linear';
    const softmaxCF = this.cf && act === 'softmax';
    if (softmaxCF) act = 'linear';
    let y = this.L('conv2d', {name: cfg.name, filters: cfg.units, kernelSize: [kh, kw],
                              activation: act, useBias: cfg.useBias !== false,
                              padding: 'valid', dataFormat: this.df}, x);
    if (softmaxCF) y = this.softmaxCF(y, cfg.name + '__softmax');
    return y;
  }
  bn(x, cfg) {
    cfg = Object.assign({axis: this.cf ? 1 : -1}, cfg);
    if (this.mode === 'clf' || !this.cf) return this.L('batchNormalization', cfg, x);
    // tfjs's CPU batchNorm kernel cycles the parameters over the flat index,
    // i.e. always normalizes the last axis: axis=1 gives wrong results. The
    // reference models normalize channels-first maps as channels-last.
    x = this.L('permute', {dims: [2, 3, 1], name: cfg.name + '__cl'}, x);
    x = this.L('batchNormalization', Object.assign({}, cfg, {axis: -1}), x);
    return this.L('permute', {dims: [3, 1, 2], name: cfg.name + '__cf'}, x);
  }
  softmaxCF(x, name) {  // tfjs softmax runs over the last axis only
    x = this.L('permute', {dims: [2, 3, 1], name: name + '__cl'}, x);
    x = this.L('softmax', {axis: -1, name}, x);
    return this.L('permute', {dims: [3, 1, 2], name: name + '__cf'}, x);
  }
  act(x, cfg) {
    if (this.fcn && this.cf && cfg.activation === 'softmax') return this.softmaxCF(x, cfg.name);
    return this.L('activation', cfg, x);
  }
  relu(x, cfg) { return this.L('reLU', cfg, x); }
  leaky(x, cfg) { return this.L('leakyReLU', cfg, x); }
  dropout(x, cfg) { return this.L('dropout', cfg, x); }
  zeropad(x, cfg) { return this.L('zeroPadding2d', Object.assign({dataFormat: this.df}, cfg), x); }
  rescaling(x, cfg) { return this.fcn ? x : this.L('rescaling', cfg, x); }
  reshape(x, cfg) { return this.fcn ? x : this.L('reshape', cfg, x); }  // head reshapes only
  add(xs, cfg) { return tf.layers.add(cfg).apply(xs); }
  concat(xs, cfg) { return tf.layers.concatenate(Object.assign({axis: this.cf ? 1 : -1}, cfg)).apply(xs); }

  finish(y, name) {
    if (this.seq) return tf.sequential({layers: this.layers, name});
    return tf.model({inputs: this.inputTensor, outputs: y, name: this.fcn ? name + '_fcn' : name});
  }
}

// The FCN twins are built for one input size (hw) at a time.
function build(spec, mode, clf, hw) {
  const b = new Builder(mode, spec, clf);
  const cf = spec.dataFormat === 'channelsFirst', s = spec.input;
  const shape = !hw ? s : cf ? [s[0], hw[0], hw[1]] : [hw[0], hw[1], s[2]];
  const y = spec.build(b, b.input(shape));
  return {model: b.finish(y, spec.name), xform: b.xform};
}

function copyWeights(fcn, xform, clf) {
  for (const layer of fcn.layers) {
    if (!layer.weights.length) continue;
    let ws = clf.getLayer(layer.name).getWeights();
    if (xform[layer.name]) ws = xform[layer.name](ws);
    layer.setWeights(ws);
  }
}

// ---------------------------------------------------------------- cases
const same = 'same', valid = 'valid';
const CASES = [
  {
    // The VGG-like demo: Sequential, channels_last, SAME 3x3 convs, BN,
    // Flatten -> Dense head. Also saved with float16 and uint8 weights.
    name: 'vgg_cl', sequential: true, input: [32, 32, 3], seed: 1, shard: 8192,
    sizes: [[64, 64], [40, 48]], variants: ['float16', 'uint8'],
    build: (b, x) => {
      x = b.conv(x, {name: 'block1_conv1', filters: 8, kernelSize: 3, padding: same, activation: 'relu'});
      x = b.conv(x, {name: 'block1_conv2', filters: 8, kernelSize: 3, padding: same});
      x = b.bn(x, {name: 'block1_bn'});
      x = b.act(x, {name: 'block1_relu', activation: 'relu'});
      x = b.maxpool(x, {name: 'block1_pool', poolSize: 2});
      x = b.conv(x, {name: 'block2_conv1', filters: 16, kernelSize: 3, padding: same, activation: 'relu'});
      x = b.maxpool(x, {name: 'block2_pool', poolSize: 2});
      x = b.conv(x, {name: 'block3_conv1', filters: 16, kernelSize: 3, padding: same, activation: 'relu'});
      x = b.maxpool(x, {name: 'block3_pool', poolSize: 2});
      x = b.flatten(x, {name: 'flatten'});
      x = b.dense(x, {name: 'fc1', units: 32, activation: 'relu'});
      x = b.dropout(x, {name: 'drop1', rate: 0.5});
      return b.dense(x, {name: 'predictions', units: 10, activation: 'softmax'});
    },
  },
  {
    // VALID everywhere (stride-2 VALID conv): cells are crops, stride 4.
    name: 'valid_crops', sequential: true, input: [20, 20, 3], seed: 2, valid: true,
    sizes: [[28, 36], [20, 26]],
    build: (b, x) => {
      x = b.conv(x, {name: 'conv1', filters: 8, kernelSize: 3, padding: valid, activation: 'relu'});
      x = b.conv(x, {name: 'conv2', filters: 8, kernelSize: 3, strides: 2, padding: valid, activation: 'relu'});
      x = b.maxpool(x, {name: 'pool', poolSize: 2});
      x = b.conv(x, {name: 'conv3', filters: 12, kernelSize: 2, padding: valid});
      x = b.flatten(x, {name: 'flatten'});
      x = b.dense(x, {name: 'fc1', units: 16, activation: 'tanh'});
      return b.dense(x, {name: 'fc2', units: 5});
    },
  },
  {
    // Stride-2 SAME convs whose trained pads (1,1 at 7x7) differ from what
    // TensorFlow would use at 2x (0,1 at 14x14): fcn keeps the trained ones.
    name: 'stride2_same', input: [28, 28, 3], seed: 3, local: true,
    sizes: [[56, 56], [44, 60]],
    build: (b, x) => {
      x = b.conv(x, {name: 'conv1', filters: 8, kernelSize: 3, strides: 2, padding: same, activation: 'relu'});
      x = b.dwconv(x, {name: 'dw1', kernelSize: 3, strides: 2, padding: same, useBias: false});
      x = b.bn(x, {name: 'dw1_bn'});
      x = b.relu(x, {name: 'dw1_relu6', maxValue: 6});
      x = b.conv(x, {name: 'conv2', filters: 12, kernelSize: 3, strides: 2, padding: same});
      x = b.gap(x, {name: 'gap'});
      return b.dense(x, {name: 'logits', units: 6, activation: 'softmax'});
    },
  },
  {
    // MobileNet-like: separable (depth multiplier 2) and depthwise convs,
    // ReLU(max 6), LeakyReLU, GAP -> Reshape(1,1,C) -> 1x1 conv -> Reshape.
    name: 'mobile', input: [24, 24, 3], seed: 4,
    sizes: [[48, 48], [36, 30]],
    build: (b, x) => {
      x = b.conv(x, {name: 'conv1', filters: 8, kernelSize: 3, padding: same, useBias: false});
      x = b.bn(x, {name: 'conv1_bn'});
      x = b.relu(x, {name: 'conv1_relu', maxValue: 6});
      x = b.sepconv(x, {name: 'sep1', filters: 16, kernelSize: 3, strides: 2, padding: same,
                        depthMultiplier: 2, activation: 'relu'});
      x = b.dwconv(x, {name: 'dw2', kernelSize: 3, padding: same, depthMultiplier: 1});
      x = b.bn(x, {name: 'dw2_bn', epsilon: 1e-3});
      x = b.leaky(x, {name: 'dw2_leaky', alpha: 0.1});
      x = b.conv(x, {name: 'pw2', filters: 24, kernelSize: 1, activation: 'relu6'});
      x = b.gap(x, {name: 'gap'});
      x = b.reshape(x, {name: 'reshape_1', targetShape: [1, 1, 24]});
      x = b.dropout(x, {name: 'dropout', rate: 0.2});
      x = b.conv(x, {name: 'conv_preds', filters: 7, kernelSize: 1});
      x = b.reshape(x, {name: 'reshape_2', targetShape: [7]});
      return b.act(x, {name: 'act_softmax', activation: 'softmax'});
    },
  },
  {
    // ResNet-ish: ZeroPadding2D, Add, Concatenate, SAME stride-2 average
    // pooling (TensorFlow excludes the padding from the mean), LeakyReLU,
    // Flatten -> Dense.
    name: 'resnet', input: [16, 16, 3], seed: 5,
    sizes: [[32, 32], [24, 20]],
    build: (b, x) => {
      x = b.zeropad(x, {name: 'pad0', padding: [[1, 1], [1, 1]]});
      x = b.conv(x, {name: 'conv0', filters: 8, kernelSize: 3, padding: valid});
      x = b.bn(x, {name: 'bn0'});
      const s = b.act(x, {name: 'relu0', activation: 'relu'});
      let r = b.conv(s, {name: 'res_a', filters: 8, kernelSize: 3, padding: same, activation: 'relu'});
      r = b.conv(r, {name: 'res_b', filters: 8, kernelSize: 3, padding: same});
      r = b.bn(r, {name: 'res_bn'});
      x = b.add([s, r], {name: 'add'});
      x = b.act(x, {name: 'relu1', activation: 'relu'});
      const p = b.conv(x, {name: 'branch_1x1', filters: 4, kernelSize: 1, activation: 'sigmoid'});
      const q = b.maxpool(x, {name: 'branch_pool', poolSize: 3, strides: 1, padding: same});
      x = b.concat([p, q], {name: 'concat'});
      x = b.avgpool(x, {name: 'avg', poolSize: 3, strides: 2, padding: same});
      x = b.conv(x, {name: 'conv_out', filters: 6, kernelSize: 3, padding: same});
      x = b.leaky(x, {name: 'leaky', alpha: 0.2});
      x = b.flatten(x, {name: 'flatten'});
      return b.dense(x, {name: 'fc', units: 7});
    },
  },
  {
    // channels_first, Flatten without data_format: order chw.
    name: 'cf_chw', sequential: true, dataFormat: 'channelsFirst', input: [3, 14, 14], seed: 6,
    sizes: [[28, 28], [20, 26]],
    build: (b, x) => {
      x = b.conv(x, {name: 'conv1', filters: 6, kernelSize: 3, padding: valid, activation: 'relu'});
      x = b.maxpool(x, {name: 'pool1', poolSize: 2});
      x = b.conv(x, {name: 'conv2', filters: 8, kernelSize: 3, padding: same});
      x = b.bn(x, {name: 'bn2', axis: 1});
      x = b.act(x, {name: 'relu2', activation: 'relu'});
      x = b.flatten(x, {name: 'flatten'});
      x = b.dense(x, {name: 'fc1', units: 12, activation: 'relu'});
      return b.dense(x, {name: 'fc2', units: 4, activation: 'softmax'});
    },
  },
  {
    // channels_first, Flatten(data_format='channels_first') (moves channels
    // last first: order hwc), VALID: crops.
    name: 'cf_hwc', dataFormat: 'channelsFirst', input: [1, 12, 12], seed: 7, valid: true,
    sizes: [[20, 16]],
    build: (b, x) => {
      x = b.conv(x, {name: 'conv1', filters: 6, kernelSize: 3, padding: valid, activation: 'relu'});
      x = b.maxpool(x, {name: 'pool1', poolSize: 2});
      x = b.conv(x, {name: 'conv2', filters: 8, kernelSize: 3, padding: valid, activation: 'relu'});
      x = b.flatten(x, {name: 'flatten', dataFormat: 'channelsFirst'});
      return b.dense(x, {name: 'fc', units: 5});
    },
  },
  {
    // Rescaling first: preprocessing metadata (scale 1/127.5, mean 1); the
    // fixture input is the rescaled tensor. VALID + GAP: crops.
    name: 'prep_gap', sequential: true, input: [16, 16, 3], seed: 8, valid: true, local: true,
    prep: {scale: 1 / 127.5, offset: -1},
    sizes: [[24, 32]],
    build: (b, x) => {
      x = b.rescaling(x, {name: 'rescaling', scale: 1 / 127.5, offset: -1});
      x = b.conv(x, {name: 'conv1', filters: 8, kernelSize: 3, padding: valid, activation: 'relu'});
      x = b.maxpool(x, {name: 'pool', poolSize: 2});
      x = b.conv(x, {name: 'conv2', filters: 12, kernelSize: 3, padding: valid, activation: 'relu'});
      x = b.gap(x, {name: 'gap'});
      x = b.dense(x, {name: 'fc1', units: 10, activation: 'relu'});
      return b.dense(x, {name: 'fc2', units: 3});
    },
  },
];

// ---------------------------------------------------------------- weights I/O
function f32ToF16(v) {  // round to nearest even, as numpy's astype(float16)
  const f = new Float32Array([v]), u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000, exp = (u >>> 23) & 0xff, man = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = man | 0x800000, shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

function roundHalfEven(x) {
  const r = Math.round(x);
  return (Math.abs(x % 1) === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

/* tfjs-converter's quantize_weights for uint8 (affine, zero nudged to an
 * integer when the range covers it); arithmetic in double as numpy does. */
function quantizeU8(vals) {
  let mn = Infinity, mx = -Infinity;
  for (const v of vals) { mn = Math.min(mn, v); mx = Math.max(mx, v); }
  const q = new Uint8Array(vals.length);
  if (mn === mx) return {q, min: mn, scale: 1.0};
  const scale = (mx - mn) / 255;
  let nmin = mn, nmax = mx;
  if (mn <= 0 && 0 <= mx) {
    const zp = roundHalfEven((0 - mn) / scale);
    nmin = -zp * scale;
    nmax = 255 * scale + nmin;
  }
  for (let i = 0; i < vals.length; i++) {
    const c = Math.min(Math.max(vals[i], nmin), nmax);
    q[i] = Math.min(255, Math.max(0, roundHalfEven((c - nmin) / scale)));
  }
  return {q, min: nmin, scale};
}

function weightBytes(art) {
  const d = art.weightData;
  if (d instanceof ArrayBuffer) return new Uint8Array(d);
  return new Uint8Array(tf.io.concatenateArrayBuffers(d));
}

/* Encode a saved model's weights as float32 / float16 / uint8 in TF.js's
 * manifest format; returns {specs, data (Uint8Array)}. */
function encodeWeights(art, how) {
  const all = weightBytes(art);
  const specs = [], parts = [];
  let off = 0;
  for (const s of art.weightSpecs) {
    const n = prod(s.shape), vals = new Float32Array(all.buffer.slice(all.byteOffset + off,
                                                                    all.byteOffset + off + 4 * n));
    off += 4 * n;
    if (how === 'float32') {
      specs.push({name: s.name, shape: s.shape, dtype: 'float32'});
      parts.push(new Uint8Array(vals.buffer));
    } else if (how === 'float16') {
      const h = new Uint16Array(n);
      for (let i = 0; i < n; i++) h[i] = f32ToF16(vals[i]);
      specs.push({name: s.name, shape: s.shape, dtype: 'float32',
                  quantization: {dtype: 'float16', original_dtype: 'float32'}});
      parts.push(new Uint8Array(h.buffer));
    } else {
      const {q, min, scale} = quantizeU8(vals);
      specs.push({name: s.name, shape: s.shape, dtype: 'float32',
                  quantization: {dtype: 'uint8', min, scale, original_dtype: 'float32'}});
      parts.push(q);
    }
  }
  const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { data.set(p, o); o += p.length; }
  return {specs, data};
}

async function saveArtifacts(model) {
  let art;
  await model.save(tf.io.withSaveHandler(async (a) => {
    art = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  // tfjs-layers 4.22's SeparableConv2D.getConfig() leaves out depth_multiplier,
  // so TF.js could not load its own file back (kernel shape mismatch): add it.
  for (const L of art.modelTopology.config.layers) {
    if (L.class_name === 'SeparableConv2D' && L.config.depth_multiplier == null)
      L.config.depth_multiplier = model.getLayer(L.config.name).depthMultiplier;
  }
  return art;
}

function writeModel(dir, art, enc, shard) {
  const paths = [];
  const n = shard ? Math.max(1, Math.ceil(enc.data.length / shard)) : 1;
  for (let i = 0; i < n; i++) {
    const p = `group1-shard${i + 1}of${n}.bin`;
    const end = shard ? Math.min(enc.data.length, (i + 1) * shard) : enc.data.length;
    fs.writeFileSync(path.join(dir, p), enc.data.subarray(shard ? i * shard : 0, end));
    paths.push(p);
  }
  const json = {
    format: 'layers-model',
    generatedBy: 'TensorFlow.js tfjs-layers v' + tf.version.tfjs,
    convertedBy: 'fcn tools/dev/tfjs_ref/make_models.js',
    modelTopology: art.modelTopology,
    weightsManifest: [{paths, weights: enc.specs}],
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
}

// ---------------------------------------------------------------- reference runs
function randomInput(shape, rng) {
  const a = new Float32Array(prod(shape));
  for (let i = 0; i < a.length; i++) a[i] = rng.n();
  return tf.tensor(a, shape);
}

// model layout -> (C,H,W) / (classes,H',W') float32
function toCHW(t, cf) {
  const r = t.rank === 2 ? t.reshape([t.shape[1], 1, 1]) :
    cf ? t.squeeze([0]) : t.squeeze([0]).transpose([2, 0, 1]);
  return r;
}

function maxRel(a, b) {
  const x = a.dataSync(), y = b.dataSync();
  if (x.length !== y.length) return Infinity;
  let err = 0, sc = 1;
  for (let i = 0; i < x.length; i++) {
    err = Math.max(err, Math.abs(x[i] - y[i]));
    sc = Math.max(sc, Math.abs(y[i]));
  }
  return err / sc;
}

function cropsReference(clf, x, spec, stride) {
  const cf = spec.dataFormat === 'channelsFirst';
  const [Ht, Wt] = cf ? spec.input.slice(1) : spec.input.slice(0, 2);
  const [H, W] = cf ? x.shape.slice(2) : x.shape.slice(1, 3);
  const Ho = Math.floor((H - Ht) / stride) + 1, Wo = Math.floor((W - Wt) / stride) + 1;
  const crops = [];
  for (let i = 0; i < Ho; i++)
    for (let j = 0; j < Wo; j++)
      crops.push(cf ? x.slice([0, 0, i * stride, j * stride], [1, -1, Ht, Wt])
                    : x.slice([0, i * stride, j * stride, 0], [1, Ht, Wt, -1]));
  const y = clf.predict(tf.concat(crops, 0));           // (Ho*Wo, N)
  const N = y.shape[y.shape.length - 1];
  return y.reshape([Ho, Wo, N]).transpose([2, 0, 1]);
}

function writeF32(file, t) {
  const d = t.dataSync();
  fs.writeFileSync(file, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
}

const TOL = 1e-4;

async function runCase(spec, tag, clf, outDir, rng) {
  const cf = spec.dataFormat === 'channelsFirst';
  const twin = (mode, h, w) => {
    const t = build(spec, mode, clf, [h, w]);
    copyWeights(t.model, t.xform, clf);
    return t.model;
  };
  const checks = [];
  let k = 0;
  const prep = (x) => (spec.prep ? x.mul(spec.prep.scale).add(spec.prep.offset) : x);
  const save = (x, y, opts, what) => {
    writeF32(path.join(outDir, `in_${k}.f32`), toCHW(x, cf));
    writeF32(path.join(outDir, `out_${k}.f32`), y);
    checks.push({input: `in_${k}.f32`, in_shape: toCHW(x, cf).shape,
                 expected: `out_${k}.f32`, out_shape: y.shape, opts, what});
    k++;
  };
  // trained size: the classifier itself; the FCN twin must agree
  const shapeAt = (h, w) => (cf ? [1, spec.input[0], h, w] : [1, h, w, spec.input[2]]);
  const [Ht, Wt] = cf ? spec.input.slice(1) : spec.input.slice(0, 2);
  const ref = twin('ref', Ht, Wt);
  const r0 = randomInput(shapeAt(Ht, Wt), rng);
  const y0 = toCHW(ref.predict(r0), false);
  const z0 = prep(r0);
  const f0 = toCHW(twin('fcn', Ht, Wt).predict(z0), cf);
  const e0 = maxRel(f0, y0);
  if (!(e0 <= TOL)) throw new Error(`${tag}: FCN twin differs from the classifier at the trained size: ${e0}`);
  save(z0, y0, '-', `trained size ${Ht}x${Wt}`);
  let stride = 0;
  if (spec.valid) {  // the backbone stride, from the FCN map of an input 64 rows taller
    const a = twin('fcn', Ht + 64, Wt).predict(prep(randomInput(shapeAt(Ht + 64, Wt), rng)));
    const ha = cf ? a.shape[2] : a.shape[1];
    stride = 64 / (ha - 1);
    if (!Number.isInteger(stride)) throw new Error(`${tag}: stride ${stride}`);
  }
  for (const [h, w] of spec.sizes) {
    const r = randomInput(shapeAt(h, w), rng), z = prep(r);
    const yf = toCHW(twin('fcn', h, w).predict(z), cf);
    let y = yf, what = `FCN twin at ${h}x${w}`;
    if (spec.valid) {
      y = cropsReference(ref, r, spec, stride);
      const e = maxRel(yf, y);
      if (!(e <= TOL)) throw new Error(`${tag}: FCN twin differs from the crops at ${h}x${w}: ${e}`);
      what = `crops at stride ${stride}, ${h}x${w}`;
    }
    save(z, y, '-', what);
  }
  if (spec.local) {
    const [h, w] = spec.sizes[0];
    const z = prep(randomInput(shapeAt(h, w), rng));
    save(z, toCHW(twin('local', h, w).predict(z), cf), 'gap=local', `head at every cell, ${h}x${w}`);
  }
  fs.writeFileSync(path.join(outDir, 'case.json'), JSON.stringify({
    name: tag, base: spec.name, dataFormat: cf ? 'channels_first' : 'channels_last',
    sequential: !!spec.sequential, valid: !!spec.valid, stride, prep: spec.prep || null,
    weights: tag === spec.name ? 'float32' : tag.split('_').pop(), checks,
  }, null, 1));
  return checks.length;
}

async function main() {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: make_models.js OUTDIR');
    process.exit(2);
  }
  const only = process.argv.slice(3);
  tf.setBackend('cpu');
  for (const spec of CASES) {
    if (only.length && !only.includes(spec.name)) continue;
    const rng = makeRng(1000 + spec.seed);
    const clf = build(spec, 'clf', null).model;
    initWeights(clf, rng);
    const art = await saveArtifacts(clf);
    for (const how of ['float32'].concat(spec.variants || [])) {
      const tag = how === 'float32' ? spec.name : `${spec.name}_${how === 'float16' ? 'f16' : 'u8'}`;
      const dir = path.join(out, tag);
      fs.mkdirSync(dir, {recursive: true});
      const enc = encodeWeights(art, how);
      writeModel(dir, art, enc, how === 'float32' ? spec.shard : 0);
      // the reference runs the model as TF.js loads it back (dequantized)
      const loaded = await tf.loadLayersModel(tf.io.fromMemory({
        modelTopology: art.modelTopology, weightSpecs: enc.specs,
        weightData: enc.data.buffer.slice(enc.data.byteOffset, enc.data.byteOffset + enc.data.length),
      }));
      const n = await runCase(spec, tag, loaded, dir, makeRng(2000 + spec.seed));
      console.log(`${tag}: ${n} checks`);
    }
  }
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
