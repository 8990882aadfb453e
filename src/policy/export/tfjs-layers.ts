/**
 * Writes an Mlp as a TF.js LayersModel folder (model.json + one weights
 * shard), the format Keras' tensorflowjs_converter produces, built through
 * TF.js itself so the topology is exactly what tf.loadLayersModel expects.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Mlp } from '../mlp.js';
import { selectTfBackend } from '../tfjs-runtime.js';

export async function writeTfjsLayers(mlp: Mlp, dir: string, shardName = 'weights.bin'): Promise<string> {
  const { tf } = await selectTfBackend('auto');
  const model = tf.sequential();
  mlp.layers.forEach((l, k) => {
    model.add(
      tf.layers.dense({
        units: l.units,
        activation: l.activation,
        name: `dense_${k}`,
        ...(k === 0 ? { inputShape: [l.inputs] } : {}),
      }),
    );
  });
  model.setWeights(mlp.layers.flatMap((l) => [tf.tensor2d(l.kernel, [l.inputs, l.units]), tf.tensor1d(l.bias)]));
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData;
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(0);
      writeFileSync(join(dir, shardName), bytes);
      const json = {
        format: 'layers-model',
        generatedBy: 'rewardd',
        convertedBy: null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: [shardName], weights: a.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return join(dir, 'model.json');
}
