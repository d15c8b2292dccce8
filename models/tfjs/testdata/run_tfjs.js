// Runs a TF.js graph model with the pure-JavaScript CPU backend of @tensorflow/tfjs
// and writes its outputs as raw little-endian float32 files. Used by the importer's
// parity tests: the Go test writes the very same input tensors it feeds ONNX Runtime.
//
// usage: node run_tfjs.js JOB.json
// JOB: {"model": "/path/model.json",
//       "runs": [{"inputs": {"name": {"file": "in.f32", "shape": [1,3,416,416]}},
//                 "outputs": ["Identity", ...], "out_dir": "/tmp/x"}]}
// For each run it writes out_dir/<output index>.f32 and out_dir/result.json with
// the output names, shapes and dtypes. Needs NODE_PATH to hold @tensorflow/tfjs.
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  // Silence the "use @tensorflow/tfjs-node for speed" hint; the CPU backend is the point.
  const warn = console.warn;
  console.warn = () => {};
  const tf = require('@tensorflow/tfjs');
  console.warn = warn;
  await tf.setBackend('cpu');
  await tf.ready();

  const modelPath = job.model;
  const dir = path.dirname(modelPath);
  const handler = {
    load: async () => {
      const mj = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
      const specs = [];
      const bufs = [];
      for (const group of mj.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
      }
      const buf = Buffer.concat(bufs);
      return {
        modelTopology: mj.modelTopology,
        weightSpecs: specs,
        weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
        format: mj.format,
        generatedBy: mj.generatedBy,
        convertedBy: mj.convertedBy,
        signature: mj.signature,
        userDefinedMetadata: mj.userDefinedMetadata,
      };
    },
  };
  const model = await tf.loadGraphModel(handler);

  for (const run of job.runs) {
    const feeds = {};
    for (const [name, spec] of Object.entries(run.inputs)) {
      const raw = fs.readFileSync(spec.file);
      const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      feeds[name] = tf.tensor(data, spec.shape, 'float32');
    }
    let outs = model.execute(feeds, run.outputs);
    if (!Array.isArray(outs)) outs = [outs];
    fs.mkdirSync(run.out_dir, { recursive: true });
    const result = { backend: tf.getBackend(), version: tf.version.tfjs, outputs: [] };
    for (let i = 0; i < outs.length; i++) {
      const t = outs[i];
      const data = await t.data();
      const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
      fs.writeFileSync(path.join(run.out_dir, `${i}.f32`), Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength));
      result.outputs.push({ name: run.outputs[i], shape: t.shape, dtype: t.dtype });
    }
    fs.writeFileSync(path.join(run.out_dir, 'result.json'), JSON.stringify(result));
    tf.dispose(outs);
    tf.dispose(Object.values(feeds));
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
