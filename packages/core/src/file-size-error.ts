import { FarmerError } from './errors.js';

/**
 * The error of a file whose size is not the one its folder's manifest
 * records (a checkpoint's or an ONNX export's): FARMER_E_CORRUPT naming the
 * file, then `fix`, what to do about it.
 */
export function fileSizeError(where: string, bytes: number, want: number, fix: string): FarmerError {
  return new FarmerError('FARMER_E_CORRUPT', `${where} is ${bytes} bytes, the manifest says ${want} (truncated or replaced); ${fix}`, { file: where });
}
