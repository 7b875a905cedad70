import { modelBackground, type Classification } from '@farmer/ar-gmm/browser';
import type { GenerateResult } from '@farmer/sampling';
import type { PickedFile } from '@farmer/onnx/web';
import { BUILTIN_MODELS } from './builtin-models.js';
import { showClassProbabilities } from './class-probabilities.js';
import { DrawPad, padBitsPerDim, padClassify } from './draw-pad.js';
import { runGeneration, showTimings } from './generate-view.js';
import { exportLocation, loadModel, servedModels, type LoadedModel } from './model-loader.js';
import { describeError } from './page-error.js';
import { FIXED_PARAMS, numberFieldsOf, parseLabels, settingsFromQuery, settingsToQuery, DEFAULT_SETTINGS, type Settings } from './settings.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the page holds: the loaded model, the picked files, the running job. Tests read `state` through `window.farmerPlayground`. */
const state: { model?: LoadedModel; pad?: DrawPad; loading?: Promise<void>; files: PickedFile[] | null; job?: AbortController; last?: GenerateResult; bpd?: number; classification?: Classification | null; settings: Settings } = {
  files: null,
  settings: { ...DEFAULT_SETTINGS },
};

/** Shows an error on the page (and clears it with null). */
function showError(e: unknown): void {
  const box = $('error');
  if (e === null) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  const { code, message } = describeError(e);
  box.replaceChildren(Object.assign(document.createElement('strong'), { textContent: code }), ` ${message}`);
  box.hidden = false;
  console.error(e);
}

/** Runs a page action; whatever it throws ends up on the page, never only in the console. */
function guard(action: () => Promise<void> | void): () => Promise<void> {
  return async () => {
    try {
      showError(null);
      await action();
    } catch (e) {
      showError(e);
    }
  };
}

function status(line: string): void {
  $('model-status').textContent = line;
}

function showNotices(lines: string[]): void {
  $('notices').replaceChildren(...lines.map((l) => Object.assign(document.createElement('li'), { textContent: l })));
}

/** Builds the sampler's number fields (only those the chosen sampler reads), named and described by the generate-options schema. */
function renderNumberFields(s: Settings): void {
  const box = $('number-fields');
  box.replaceChildren(
    ...numberFieldsOf(s.sampler).map((f) => {
      const param = f.url!;
      const label = Object.assign(document.createElement('label'), { title: f.description });
      const value = s.numbers[param];
      const input = Object.assign(document.createElement('input'), { type: 'number', step: 'any', id: `num-${param}`, placeholder: 'default', value: value === undefined ? '' : String(value) });
      input.dataset.param = param;
      label.append(f.label, ' ', input);
      return label;
    }),
  );
}

/** The controls → a URL query (validated by settingsFromQuery, so the page and a shared link agree). */
function readControls(): Settings {
  const q = new URLSearchParams();
  q.set('model', $<HTMLSelectElement>('model-select').value === 'url' ? `url:${$<HTMLInputElement>('model-url').value}` : $<HTMLSelectElement>('model-select').value);
  q.set('ep', $<HTMLSelectElement>('provider-select').value);
  q.set(FIXED_PARAMS.labels, parseLabels($<HTMLInputElement>('labels').value).join(','));
  q.set(FIXED_PARAMS.seed, $<HTMLInputElement>('seed').value);
  q.set(FIXED_PARAMS.sampler, $<HTMLSelectElement>('sampler').value);
  for (const input of $('number-fields').querySelectorAll('input')) if (input.value !== '') q.set(input.dataset.param!, input.value);
  q.set(FIXED_PARAMS.decoder, $<HTMLSelectElement>('decoder').value);
  q.set(FIXED_PARAMS.batchSize, $<HTMLInputElement>('batch').value);
  return settingsFromQuery(q);
}

function writeControls(s: Settings): void {
  const select = $<HTMLSelectElement>('model-select');
  const key = s.model.startsWith('url:') ? 'url' : s.model;
  if (![...select.options].some((o) => o.value === key)) select.add(new Option(s.model.replace(/^served:/, 'served: '), key));
  select.value = key;
  if (s.model.startsWith('url:')) $<HTMLInputElement>('model-url').value = s.model.slice(4);
  $('model-url-row').hidden = key !== 'url';
  $('model-files-row').hidden = key !== 'files';
  $<HTMLSelectElement>('provider-select').value = s.provider;
  $<HTMLInputElement>('labels').value = s.labels.join(',');
  $<HTMLInputElement>('seed').value = String(s.seed);
  $<HTMLSelectElement>('sampler').value = s.sampler;
  renderNumberFields(s);
  $<HTMLSelectElement>('decoder').value = s.decoder;
  $<HTMLInputElement>('batch').value = String(s.batchSize);
}

/** Puts the settings in the address bar (without reloading), so the page can be shared as it is. */
function syncUrl(s: Settings): void {
  const url = `${location.pathname}?${settingsToQuery(s)}`;
  history.replaceState(null, '', url);
  $<HTMLAnchorElement>('share').href = url;
}

/** (Re)loads the model the controls name; generation waits for it. */
async function reloadModel(): Promise<void> {
  const s = state.settings;
  $<HTMLButtonElement>('generate').disabled = true;
  $<HTMLButtonElement>('pad-score').disabled = true;
  const old = state.model;
  state.model = undefined;
  $('pad-note').hidden = true;
  await old?.runner.dispose();
  try {
    const model = await loadModel(exportLocation(s.model, $<HTMLInputElement>('api-key').value, state.files), s.provider, status);
    state.model = model;
    // The pad shows, and scores on, the colour this model composites transparency on.
    if (state.pad) state.pad.background = modelBackground(model.runner.config);
    // The pad draws grey strokes whatever the model: a colour model is told so.
    $('pad-note').hidden = model.runner.config.flow.inChannels === 1;
    const ep = model.runner.executionProvider;
    status(`${model.label}: ${model.runner.config.numClasses} classes, decoders ${model.runner.decoders.join(', ')}; running on ${ep.name}${ep.name === 'wasm' ? ` (${model.threads} thread${model.threads > 1 ? 's' : ''})` : ''}`);
    $('model-status').dataset.provider = ep.name;
    showNotices(model.notices);
    showTimings(model);
    $<HTMLButtonElement>('generate').disabled = false;
    $<HTMLButtonElement>('pad-score').disabled = false;
    for (const d of ['student', 'jacobi'] as const) $<HTMLSelectElement>('decoder').querySelector<HTMLOptionElement>(`option[value=${d}]`)!.disabled = !model.runner.decoders.includes(d);
  } catch (e) {
    status('no model loaded');
    throw e;
  }
}

const loadSelected = guard(async () => {
  state.settings = readControls();
  syncUrl(state.settings);
  state.loading = reloadModel();
  await state.loading;
});

const onGenerate = guard(async () => {
  const settings = readControls();
  const modelChanged = settings.model !== state.settings.model || settings.provider !== state.settings.provider;
  state.settings = settings;
  syncUrl(settings);
  if (modelChanged || !state.model) await reloadModel();
  const job = new AbortController();
  state.job = job;
  $<HTMLButtonElement>('generate').disabled = true;
  $<HTMLButtonElement>('cancel').disabled = false;
  try {
    state.last = await runGeneration(state.model!, settings, job.signal);
  } finally {
    state.job = undefined;
    $<HTMLButtonElement>('generate').disabled = !state.model;
    $<HTMLButtonElement>('cancel').disabled = true;
  }
});

async function init(): Promise<void> {
  const pad = new DrawPad($<HTMLCanvasElement>('pad'), () => {
    $('bpd').textContent = '';
    $('class-probs').replaceChildren();
  });
  state.pad = pad;
  pad.canvas.addEventListener('pad-error', (e) => showError((e as CustomEvent).detail));
  window.addEventListener('error', (e) => showError(e.error ?? e.message));
  window.addEventListener('unhandledrejection', (e) => showError(e.reason));
  Object.assign(window, { farmerPlayground: { state, pad } });

  const select = $<HTMLSelectElement>('model-select');
  BUILTIN_MODELS.forEach((name, k) => select.add(new Option(`built-in ${name}`, k === 0 ? 'builtin' : `builtin:${name}`)));
  select.add(new Option('export folder by URL…', 'url'));
  select.add(new Option('export folder from this computer…', 'files'));
  const served = await servedModels('');
  if (served?.needsKey) $('api-key-row').hidden = false;
  for (const name of served?.names ?? []) select.add(new Option(`served: ${name}`, `served:${name}`), 1);

  $('generate-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void onGenerate();
  });
  $('cancel').addEventListener('click', () => state.job?.abort());
  $('sampler').addEventListener('change', guard(() => renderNumberFields({ ...state.settings, sampler: $<HTMLSelectElement>('sampler').value as Settings['sampler'] })));
  select.addEventListener('change', () => {
    $('model-url-row').hidden = select.value !== 'url';
    $('model-files-row').hidden = select.value !== 'files';
    if (select.value !== 'url' && select.value !== 'files') void loadSelected();
  });
  $('provider-select').addEventListener('change', () => void loadSelected());
  $('model-url-load').addEventListener('click', () => void loadSelected());
  $<HTMLInputElement>('model-files').addEventListener('change', () => {
    state.files = [...($<HTMLInputElement>('model-files').files ?? [])];
    void loadSelected();
  });
  $('pad-clear').addEventListener('click', () => pad.clear());
  $<HTMLInputElement>('pad-file').addEventListener(
    'change',
    guard(async () => {
      const f = $<HTMLInputElement>('pad-file').files?.[0];
      if (f) await pad.dropImage(f);
    }),
  );
  $('pad-score').addEventListener(
    'click',
    guard(async () => {
      if (!state.model) throw new Error('no model is loaded');
      const { runner } = state.model;
      const bpd = await padBitsPerDim(pad, runner);
      const classification = await padClassify(pad, runner);
      state.bpd = bpd;
      state.classification = classification;
      $('bpd').textContent = `${bpd.toFixed(3)} bits/dim`;
      showClassProbabilities($('class-probs'), runner.config, classification);
    }),
  );

  let settings: Settings;
  try {
    settings = settingsFromQuery(new URLSearchParams(location.search));
  } catch (e) {
    showError(e);
    settings = { ...DEFAULT_SETTINGS };
  }
  if (settings.model === 'files') settings = { ...settings, model: 'builtin' };
  state.settings = settings;
  writeControls(settings);
  syncUrl(settings);
  state.loading = reloadModel().catch(showError);
  await state.loading;
}

void guard(init)();

