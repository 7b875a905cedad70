import { existsSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '@farmer/core';

interface Point {
  step: number;
  bpd: number;
  series: string;
}

/** Training bits/dim (per step) and test bits/dim (per evaluation) from a metrics.jsonl. */
export function readCurve(metricsPath: string): Point[] {
  if (!existsSync(metricsPath)) return [];
  const points: Point[] = [];
  for (const line of readFileSync(metricsPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let e: { type?: string; step?: number; bpd?: number; noise?: string };
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e.type === 'step' && Number.isFinite(e.bpd)) points.push({ step: e.step!, bpd: e.bpd!, series: `train (${e.noise} noise)` });
    else if (e.type === 'eval' && Number.isFinite(e.bpd)) points.push({ step: e.step!, bpd: e.bpd!, series: 'test (uniform)' });
  }
  return points;
}

/** Renders the curve as a PNG: vega-lite → SVG (headless) → PNG through sharp. */
export async function renderCurvePng(points: Point[], title: string): Promise<Uint8Array> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 560,
    height: 300,
    background: 'white',
    data: { values: points },
    mark: { type: 'line', point: points.length < 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'bpd', type: 'quantitative', title: 'bits/dim', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 300, orient: 'bottom' } },
    },
  };
  return renderSpecPng(spec);
}

/** Writes `loss.png` for a run; returns its path, or undefined when there is nothing to plot. */
export async function writeLossPlot(metricsPath: string, outPath: string, title = 'FARMER training'): Promise<string | undefined> {
  const points = readCurve(metricsPath);
  if (points.length < 2) return undefined;
  await writeFileAtomic(outPath, await renderCurvePng(points, title));
  return outPath;
}

/**
 * A histogram PNG of one or more series. Values beyond the 0.5% and 99.5% quantiles of all
 * finite values (an OOD image can score 1e3 times the rest, or +∞) are drawn at those
 * edges, so the bulk stays readable; the title says how many.
 */
export async function renderHistogramPng(series: { name: string; values: ArrayLike<number> }[], title: string): Promise<Uint8Array> {
  const finite = Float64Array.from(series.flatMap((s) => Array.from(s.values).filter(Number.isFinite))).sort();
  const at = (q: number) => (finite.length ? finite[Math.min(finite.length - 1, Math.floor(q * finite.length))] : 0);
  const [lo, hi] = [at(0.005), at(0.995)];
  let clamped = 0;
  const clamp = (v: number) => {
    if (v >= lo && v <= hi) return v;
    clamped++;
    return Number.isNaN(v) ? hi : Math.min(hi, Math.max(lo, v));
  };
  const values = series.flatMap((s) => Array.from(s.values, (v) => ({ value: clamp(v), series: s.name })));
  if (clamped > 0) title = `${title} (${clamped} beyond [${lo.toPrecision(4)}, ${hi.toPrecision(4)}] drawn at its edges)`;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 560,
    height: 240,
    background: 'white',
    data: { values },
    mark: { type: 'bar', opacity: 0.6 },
    encoding: {
      x: { field: 'value', type: 'quantitative', bin: { maxbins: 50 }, title },
      y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'count' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  return renderSpecPng(spec);
}

/** A vega-lite spec → SVG (headless) → PNG through sharp. */
async function renderSpecPng(spec: TopLevelSpec): Promise<Uint8Array> {
  // Loaded on first use: vega is ESM with top-level await, which require() cannot load, so a
  // static import would break this package's CommonJS entry (and slow every command's start).
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
}

/** A reliability diagram: accuracy against mean confidence per confidence bin, with the diagonal. */
export async function renderReliabilityPng(bins: { lo: number; hi: number; count: number; confidence: number; accuracy: number }[], title: string): Promise<Uint8Array> {
  const values = bins.filter((b) => b.count > 0).map((b) => ({ mid: (b.lo + b.hi) / 2, lo: b.lo, hi: b.hi, accuracy: b.accuracy, confidence: b.confidence, count: b.count }));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 360,
    height: 360,
    background: 'white',
    layer: [
      {
        data: { values },
        mark: { type: 'bar', opacity: 0.7 },
        encoding: {
          x: { field: 'lo', type: 'quantitative', scale: { domain: [0, 1] }, title: 'confidence' },
          x2: { field: 'hi' },
          y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'accuracy' },
          y2: { datum: 0 },
          tooltip: [{ field: 'count' }],
        },
      },
      { data: { values: [{ v: 0 }, { v: 1 }] }, mark: { type: 'line', color: 'gray', strokeDash: [4, 4] }, encoding: { x: { field: 'v', type: 'quantitative' }, y: { field: 'v', type: 'quantitative' } } },
      { data: { values }, mark: { type: 'point', color: 'black' }, encoding: { x: { field: 'confidence', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' } } },
    ],
  };
  return renderSpecPng(spec);
}
