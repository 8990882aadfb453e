/** Vision-language rewards (docs/vision.md): the VLM-RM formula, models, frames, logs. */
export { goalBaselineReward, cosineSimilarity, normalise, GoalScorer } from './goal-reward.js';
export { loadVisionModel, readVisionManifest, type VisionModel } from './model.js';
export { parseVisionManifest, VISION_SCHEMA, type VisionManifest, type Prompts } from './manifest.js';
export { PromptSet, type PromptSetRecord } from './prompt-set.js';
export { renderScene, type Scene } from './sim-camera.js';
export { decodeImage, encodeJpeg, encodePng } from './image-codec.js';
export { writeClipModel } from './make-model.js';
export { CLIP_SHAPES, imageEncoderOnnx, textEncoderOnnx } from './clip-graph.js';
export { readStoredVision } from './mcap-vision.js';
export { decodeVisionBatch, encodeVisionBatch, type VisionBatch } from './vision-batch.js';
export { cameraTopic } from './mqtt-source.js';
