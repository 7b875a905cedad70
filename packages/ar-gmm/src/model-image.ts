import { backgroundOf, FarmerError, type Background } from '@farmer/core/browser';
import type { FarmerConfig } from './config.js';

/**
 * The colour a model's input images are composited on
 * (docs/method.md §2.6 Transparency): its config's `background`, else black (a model from before
 * backgrounds existed, or of data without alpha).
 */
export function modelBackground(c: Pick<FarmerConfig, 'background'>): Background {
  return backgroundOf(c);
}

/** How an image becomes a model's input: its side, its channels and the background alpha is composited on. */
export interface ModelImageOptions {
  /** Side length H = W. */
  imageSize: number;
  /** 1 (grey: a colour image becomes its luma) or 3 (RGB: a grey image is replicated). */
  channels: 1 | 3;
  /** See {@link modelBackground}. */
  background: Background;
}

/**
 * The image options a model implies, for decoding a user's PNG
 * (`decodePng(bytes, channels, { background })`) or loading a dataset at its
 * geometry (`loadDataset(spec, { split, ...modelImageOptions(c) })`). A model
 * of other than 1 or 3 channels takes no images (FARMER_E_UNSUPPORTED).
 */
export function modelImageOptions(c: Pick<FarmerConfig, 'flow' | 'background'>): ModelImageOptions {
  const channels = c.flow.inChannels;
  if (channels !== 1 && channels !== 3) throw new FarmerError('FARMER_E_UNSUPPORTED', `images have 1 or 3 channels; this model has ${channels}`, { field: 'channels' });
  return { imageSize: c.flow.imageSize, channels, background: modelBackground(c) };
}
