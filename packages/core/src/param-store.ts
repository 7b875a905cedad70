import { checkTensorShapes } from './checkpoint.js';
import { FarmerError } from './errors.js';
import { toFloat32, type TensorMap } from './safetensors.js';
import { tf } from './tf.js';

/**
 * Named model weights. Names and checkpoint layouts follow PyTorch
 * (docs/method.md §9.2 weight names), so checkpoints interoperate; Linear
 * weights (rank-2 `*.weight`) are held transposed, [in, out], because
 * tfjs-wasm multiplies untransposed operands about 5× faster
 * (docs/method.md §13.1 transposed Linear weights). The transpose happens
 * only at the checkpoint boundary (docs/method.md §9.3 Linear weight layout).
 */
export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();

  /** `shapes`: every parameter's PyTorch-layout shape, in a fixed order. */
  constructor(readonly shapes: Record<string, number[]>) {}

  /** True for Linear weights, which are stored [out, in] but held [in, out]. */
  static isLinearWeight(name: string, torchShape: number[]): boolean {
    return torchShape.length === 2 && name.endsWith('.weight');
  }

  /** The in-memory shape of a parameter. */
  internalShape(name: string): number[] {
    const s = this.shapes[name];
    if (!s) throw new FarmerError('FARMER_E_INTERNAL', `unknown parameter '${name}'`);
    return ParamStore.isLinearWeight(name, s) ? [s[1], s[0]] : s;
  }

  /** Creates every parameter with `init(name, internalShape)`, which returns a new tensor. */
  initialise(init: (name: string, shape: number[]) => tf.Tensor): this {
    for (const name of Object.keys(this.shapes)) {
      const t = init(name, this.internalShape(name));
      this.set(name, t);
      t.dispose();
    }
    return this;
  }

  private set(name: string, value: tf.Tensor): void {
    const want = this.internalShape(name);
    if (value.shape.length !== want.length || value.shape.some((s, i) => s !== want[i])) {
      throw new FarmerError('FARMER_E_SHAPE', `parameter '${name}': got [${value.shape}], expected [${want}]`, { tensor: name });
    }
    const existing = this.vars.get(name);
    if (existing) existing.assign(value);
    else this.vars.set(name, tf.variable(value, true));
  }

  /** The variable for `name` (in-memory layout). */
  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new FarmerError('FARMER_E_INTERNAL', `parameter '${name}' is not initialised`);
    return v;
  }

  /** Whether a variable of this name exists. */
  has(name: string): boolean {
    return this.vars.has(name);
  }

  /** Every parameter name, in the fixed order of `shapes`. */
  names(): string[] {
    return Object.keys(this.shapes);
  }

  /** Every variable, in the fixed order of `shapes`. */
  variables(): tf.Variable[] {
    return this.names().map((n) => this.get(n));
  }

  /** Total number of scalars (from shapes alone; nothing need be allocated). */
  count(): number {
    return countParams(this.shapes);
  }

  /** The weights as host tensors in PyTorch layout, names prefixed by `prefix`. */
  toTensorMap(prefix = ''): TensorMap {
    return ParamStore.hostTensorMap(this.shapes, this.values(), prefix);
  }

  /** Copies of every value, in `names()` order and in-memory layout. */
  values(): Float32Array[] {
    return this.variables().map((v) => Float32Array.from(v.dataSync() as Float32Array));
  }

  /** Sets every value from host arrays in `names()` order and in-memory layout. */
  setValues(values: Float32Array[]): this {
    const names = this.names();
    if (values.length !== names.length) throw new FarmerError('FARMER_E_INTERNAL', `setValues: got ${values.length} arrays for ${names.length} parameters`);
    tf.tidy(() => names.forEach((name, i) => this.set(name, tf.tensor(values[i], this.internalShape(name)))));
    return this;
  }

  /**
   * Loads PyTorch-layout host tensors (names under `prefix`). Every parameter
   * must be present with its exact shape; `file` names the source in errors.
   * Tensors outside the prefix are ignored; extra ones inside it are refused.
   */
  loadTensorMap(map: TensorMap, file: string, prefix = ''): this {
    return this.setValues(ParamStore.hostValues(this.shapes, map, file, prefix));
  }

  /**
   * Host weights in in-memory layout (in the order of `shapes`) → PyTorch-layout
   * host tensors named `prefix + name`: Linear weights are transposed back to
   * [out, in]. Pure data movement, so the bytes equal a tensor transpose's.
   */
  static hostTensorMap(shapes: Record<string, number[]>, values: Float32Array[], prefix = ''): TensorMap {
    const out: TensorMap = {};
    Object.entries(shapes).forEach(([name, torch], i) => {
      out[prefix + name] = { dtype: 'F32', shape: torch, data: ParamStore.isLinearWeight(name, torch) ? transpose2d(values[i], torch[1], torch[0]) : Float32Array.from(values[i]) };
    });
    return out;
  }

  /**
   * The inverse of `hostTensorMap`, with the checks of a checkpoint load:
   * every parameter present with its exact shape, no extra name under the
   * prefix, every value finite. Returns in-memory layout in `shapes` order.
   */
  static hostValues(shapes: Record<string, number[]>, map: TensorMap, file: string, prefix = ''): Float32Array[] {
    // Names come from a file: Object.fromEntries keeps even '__proto__' an entry (then refused as unexpected).
    const mine: TensorMap = Object.fromEntries(Object.entries(map).flatMap(([k, v]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), v]] : [])));
    checkTensorShapes(mine, shapes, file, { allowExtra: false });
    return Object.keys(shapes).map((name) => {
      const host = mine[name];
      const values = toFloat32(host);
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) {
          throw new FarmerError('FARMER_E_CORRUPT', `${file}: tensor '${prefix}${name}' holds a non-finite value at index ${i}`, { file, tensor: prefix + name });
        }
      }
      return ParamStore.isLinearWeight(name, host.shape) ? transpose2d(values, host.shape[0], host.shape[1]) : Float32Array.from(values);
    });
  }

  /** Copies every value from another store with the same shapes. */
  copyFrom(other: ParamStore): this {
    for (const name of this.names()) this.set(name, other.get(name));
    return this;
  }

  /** Disposes every variable of the store. */
  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** [rows, cols] row-major → [cols, rows] row-major. */
function transpose2d(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** Number of scalars in a shape table. */
export function countParams(shapes: Record<string, number[]>): number {
  let n = 0;
  for (const s of Object.values(shapes)) n += s.reduce((a, b) => a * b, 1);
  return n;
}
