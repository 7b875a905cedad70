import { generateOptionFields } from '@farmer/sampling';
import { describe, expect, it } from 'vitest';
import { PageError } from '../src/page-error.js';
import { DEFAULT_SETTINGS, generateOptionsOf, NUMBER_FIELDS, PAGE_FIELDS, settingsFromQuery, settingsToQuery } from '../src/settings.js';

/*
 * The page's controls and URL parameters are @farmer/sampling's
 * generate-options schema (issue 29): it shows fewer options, re-declares
 * none, and links made before keep drawing what they drew.
 */
const SCHEMA = generateOptionFields();

describe("the playground's settings", () => {
  it('show only options of the schema, under the URL keys the schema gives (the ones links always used)', () => {
    for (const f of PAGE_FIELDS) expect(SCHEMA.find((s) => s.key === f.key)?.url, f.key).toBe(f.url);
    expect(NUMBER_FIELDS.map((f) => `${f.url}=${f.key}`)).toEqual([
      'T=informative.temperature',
      's=informative.scale',
      'Tr=redundant.temperature',
      'sr=redundant.scale',
      'w=cfg.w',
      'pT=cfg.proposal.pi',
      'pS=cfg.proposal.sigma',
      'eT=cfg.evaluation.pi',
      'eS=cfg.evaluation.sigma',
      'sharpen=cfg.sharpen',
      'T=naive.temperature',
      's=naive.scale',
    ]);
  });

  it('put in the URL no parameter that is not a schema option (but the model and the execution provider)', () => {
    const full = settingsFromQuery(new URLSearchParams('model=builtin:fashion-small&ep=wasm&labels=1,2&seed=3&sampler=decoupled&T=1.1&s=0.8&Tr=1&sr=0.7&w=2&pT=0.9&pS=0.8&eT=0.3&eS=0.7&sharpen=1.2&decoder=student&batch=4'));
    const keys = [...settingsToQuery(full).keys()];
    const urls = new Set(SCHEMA.map((f) => f.url).filter(Boolean));
    expect(keys.filter((k) => !urls.has(k) && k !== 'model' && k !== 'ep')).toEqual([]);
    expect(settingsFromQuery(settingsToQuery(full))).toEqual(full);
  });

  it('give the library the options a shared link always gave', () => {
    const of = (query: string) => generateOptionsOf(settingsFromQuery(new URLSearchParams(query)));
    expect(of('')).toEqual({ labels: [7, 3, 0], seed: 1, sampler: 'resampling-cfg', decoder: 'flow', batchSize: DEFAULT_SETTINGS.batchSize });
    expect(of('labels=2,8&seed=9&sampler=naive-cfg&w=1.5&T=1.2')).toMatchObject({ sampler: 'naive-cfg', cfg: { w: 1.5 }, naive: { temperature: 1.2 } });
    expect(of('labels=2,8&seed=9&sampler=naive-cfg&w=1.5&T=1.2')).not.toHaveProperty('informative');
    expect(of('labels=0,5,9&seed=3&sampler=decoupled&T=1.1&s=0.8&Tr=1')).toMatchObject({ informative: { temperature: 1.1, scale: 0.8 }, redundant: { temperature: 1 } });
    expect(of('labels=1&pT=0.9&eS=0.7&sharpen=1.3&w=2')).toMatchObject({ cfg: { w: 2, proposal: { pi: 0.9 }, evaluation: { sigma: 0.7 }, sharpen: 1.3 } });
    expect(of('labels=1,2&batch=4&decoder=student')).toMatchObject({ batchSize: 4, decoder: 'student' });
  });

  it("refuse a value outside the schema's bounds, naming the URL parameter", () => {
    for (const [query, says] of [
      ['T=0', 'T must be > 0, got 0'],
      ['w=-1', 'w must be ≥ 0, got -1'],
      ['seed=1.5', 'seed must be an integer, got 1.5'],
      ['labels=1,-2', 'labels [1] must be ≥ -1, got -2'],
      ['decoder=ddim', "decoder must be one of flow, jacobi, student, auto, got 'ddim'"],
      ['sampler=auto', 'sampler must be one of decoupled, resampling-cfg, naive-cfg'],
      ['batch=0', 'batch must be ≥ 1, got 0'],
      ['batch=65', 'batch must be ≤ 64'],
      ['sharpen=x', "sharpen must be a number, got 'x'"],
    ] as const) {
      let err: unknown;
      try {
        settingsFromQuery(new URLSearchParams(query));
      } catch (e) {
        err = e;
      }
      expect(err, query).toBeInstanceOf(PageError);
      expect((err as Error).message, query).toContain(says);
    }
  });
});
