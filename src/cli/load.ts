import { readModelFile, type LoadedModel } from '../onnx/index.js';
import type { Progress } from './progress.js';

/** Reads and validates a model, showing the stage when progress is on. */
export function loadModel(path: string, progress: Progress): LoadedModel {
  progress.stage(`reading and checking ${path}`);
  const loaded = readModelFile(path);
  progress.noteGraphSize(loaded.model.graph!.node.length);
  return loaded;
}
