import { describeRedrawn, generate, type GenerateProgress, type GenerateResult } from '@farmer/sampling';
import type { LoadedModel } from './model-loader.js';
import { downloadPng, gridCanvas, imageCanvas } from './image-canvas.js';
import { generateOptionsOf, type Settings } from './settings.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Shows where a generation is: AR tokens of the current batch, AF blocks, images done. */
function showProgress(p: GenerateProgress, started: number, batchSize: number): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const batch = `images ${p.imagesDone + 1}–${Math.min(p.imagesDone + batchSize, p.images)} of ${p.images}`;
  if (p.phase === 'ar') {
    $<HTMLProgressElement>('ar-progress').max = p.tokens;
    $<HTMLProgressElement>('ar-progress').value = p.token;
    $('ar-text').textContent = `token ${p.token} / ${p.tokens} (${batch}) · ${seconds} s`;
    $<HTMLProgressElement>('af-progress').value = 0;
    $('af-text').textContent = '';
  } else {
    $<HTMLProgressElement>('af-progress').max = p.blocks;
    $<HTMLProgressElement>('af-progress').value = p.blocksDone + (p.token >= p.tokens ? 1 : p.token / Math.max(1, p.tokens));
    $('af-text').textContent = `block ${p.blocksDone + 1} / ${p.blocks} (${batch}) · ${seconds} s`;
  }
}

/** The timings table: loading, then the phases of the last run. */
export function showTimings(model: LoadedModel, r?: GenerateResult): void {
  const rows: [string, string][] = [
    ['read and verify the export', `${model.timings.fetchSeconds.toFixed(2)} s (${(model.bytes / 1e6).toFixed(1)} MB)`],
    ['create the sessions', `${model.timings.sessionSeconds.toFixed(2)} s`],
  ];
  if (r) {
    const t = r.timings;
    rows.push(
      ['AR: sample the latents', `${t.arSeconds.toFixed(2)} s`],
      [`AF: decode (${r.parameters.decoder})`, `${t.afSeconds.toFixed(2)} s`],
      ...(t.jacobiIterations ? [['Jacobi passes per AF block', t.jacobiIterations.map((v) => v.toFixed(1)).join(', ')] as [string, string]] : []),
      ['total', `${t.totalSeconds.toFixed(2)} s · ${(t.totalSeconds / r.images.count).toFixed(3)} s per image`],
    );
  }
  const body = $('timings').querySelector('tbody')!;
  body.replaceChildren(
    ...rows.map(([k, v]) => {
      const tr = document.createElement('tr');
      tr.append(Object.assign(document.createElement('th'), { textContent: k }), Object.assign(document.createElement('td'), { textContent: v }));
      return tr;
    }),
  );
  $('timings').hidden = false;
}

/** Draws the results: one figure per image with its label and a PNG download. */
export function showResults(r: GenerateResult, settings: Settings): void {
  const redrawn = new Set(r.redrawn.map((x) => x.image));
  const figures = Array.from({ length: r.images.count }, (_, i) => {
    const fig = document.createElement('figure');
    const canvas = imageCanvas(r.images, i);
    canvas.className = 'sample';
    canvas.dataset.label = String(r.labels[i]);
    const label = r.labels[i] < 0 ? 'unconditional' : `label ${r.labels[i]}`;
    const a = Object.assign(document.createElement('a'), { href: '#', textContent: 'PNG', title: 'download this image' });
    a.addEventListener('click', (e) => {
      e.preventDefault();
      downloadPng(canvas, `farmer-seed${settings.seed}-${String(i).padStart(4, '0')}-label${r.labels[i]}.png`);
    });
    const cap = document.createElement('figcaption');
    // An image drawn again because the decoder could not invert its first latents (docs/method.md §7.1 Generation pipeline).
    if (redrawn.has(i)) canvas.dataset.redrawn = 'true';
    cap.append(`${label}${redrawn.has(i) ? ' (redrawn)' : ''} · `, a);
    fig.append(canvas, cap);
    return fig;
  });
  $('results').replaceChildren(...figures);
  const grid = $<HTMLButtonElement>('download-grid');
  grid.disabled = false;
  grid.onclick = () => downloadPng(gridCanvas(r.images), `farmer-seed${settings.seed}-${r.parameters.sampler}.png`);
}

/** Runs one generation with visible progress; resolves with the result (results and timings shown). */
export async function runGeneration(model: LoadedModel, settings: Settings, signal: AbortSignal): Promise<GenerateResult> {
  const started = performance.now();
  $('results').replaceChildren();
  const r = await generate(model.runner, { ...generateOptionsOf(settings), signal, onProgress: (p) => showProgress(p, started, settings.batchSize) });
  $<HTMLProgressElement>('ar-progress').value = $<HTMLProgressElement>('ar-progress').max;
  $<HTMLProgressElement>('af-progress').value = $<HTMLProgressElement>('af-progress').max;
  const redrawn = describeRedrawn(r.redrawn, r.parameters.decoder);
  $('af-text').textContent = `done: ${r.images.count} images in ${r.timings.totalSeconds.toFixed(2)} s${redrawn ? `; ${redrawn}` : ''}`;
  showResults(r, settings);
  showTimings(model, r);
  return r;
}
