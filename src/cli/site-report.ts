import type { SiteReport } from '../rewriter/index.js';

export interface SiteSummary {
  sites: number;
  fused: number;
  skipped: number;
}

export function summarize(sites: SiteReport[]): SiteSummary {
  const fused = sites.filter((s) => s.status === 'fused').length;
  return { sites: sites.length, fused, skipped: sites.length - fused };
}

function attrs(a: SiteReport['attributes']): string {
  if (!a || Object.keys(a).length === 0) return '';
  return ` (${Object.entries(a).map(([k, v]) => `${k}=${v}`).join(', ')})`;
}

/** One line per site: what it became (or would become), or why it is left as it is. */
export function formatSites(sites: SiteReport[], verb: 'fused' | 'would fuse'): string {
  if (sites.length === 0) return '  no attention sites found\n';
  const idw = Math.max(...sites.map((s) => s.id.length));
  const pw = Math.max(...sites.map((s) => s.pattern.length));
  return sites.map((s) => {
    const head = `  ${s.id.padEnd(idw)}  ${s.pattern.padEnd(pw)}  `;
    if (s.status === 'fused') {
      const removed = s.removedNodes.length ? `, replaces ${s.removedNodes.length} nodes` : '';
      return `${head}${verb} -> ${s.op ?? '?'}${attrs(s.attributes)}${removed}`;
    }
    return `${head}left as is: ${s.reason ?? 'no reason given'}`;
  }).join('\n') + '\n';
}
