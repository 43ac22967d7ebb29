import { statSync } from 'node:fs';
import type { CliIO } from './io.js';

/** Models at least this big get progress lines: below it every step is instant. */
const LARGE_MODEL_BYTES = 64 * 2 ** 20;
const LARGE_GRAPH_NODES = 5000;

/**
 * One status line on stderr, rewritten in place, only when stderr is a terminal (never in pipes or
 * logs) and only for large models: a big file, or a big graph. Steps are synchronous: it shows stages.
 */
export class Progress {
  private shown = false;
  private enabled: boolean;
  private readonly started = Date.now();

  constructor(private readonly io: CliIO, modelPath: string) {
    let large = false;
    try { large = statSync(modelPath).size >= LARGE_MODEL_BYTES; } catch { /* reported elsewhere */ }
    this.enabled = io.errIsTTY && large;
  }

  /** Turns progress on for graphs with many nodes even when the file is small (external weights). */
  noteGraphSize(nodes: number): void {
    if (this.io.errIsTTY && nodes >= LARGE_GRAPH_NODES) this.enabled = true;
  }

  stage(text: string): void {
    if (!this.enabled) return;
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    this.io.err(`\r\x1b[2K[${secs}s] ${text}...`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.io.err('\r\x1b[2K');
    this.shown = false;
  }
}
