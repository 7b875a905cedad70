import type { VjpContext, VjpNode, VjpResult, VjpRule } from './vjp-context.js';

/**
 * VJPs of elementwise ops. Binary ops broadcast (numpy rules), so each
 * operand's gradient is summed back over the axes it was broadcast along.
 */

/** dx = dy·f'(x), for a unary op whose derivative is given by `deriv(x, y)`. */
function unary(deriv: (c: VjpContext, x: string, y: string) => string): VjpRule {
  return (c, n, [dy]) => [c.op('Mul', [dy!, deriv(c, n.inputs[0], n.outputs[0])])];
}

/** Each operand's share of dy, un-broadcast to its shape. */
function binary(c: VjpContext, n: VjpNode, dy: string, terms: [(() => string) | undefined, (() => string) | undefined]): VjpResult {
  const out = c.shape(n.outputs[0]);
  return terms.map((term, i) => (n.needs[i] && term ? c.unbroadcast(term(), out, c.shape(n.inputs[i])) : undefined));
}

export const ELEMENTWISE_VJPS: Record<string, VjpRule> = {
  Identity: (_c, _n, [dy]) => [dy],
  Neg: (c, _n, [dy]) => [c.op('Neg', [dy!])],
  // d eˣ = eˣ
  Exp: unary((_c, _x, y) => y),
  // d log x = 1/x
  Log: (c, n, [dy]) => [c.op('Div', [dy!, n.inputs[0]])],
  // d tanh x = 1 − tanh²x
  Tanh: unary((c, _x, y) => c.op('Sub', [c.scalar(1), c.op('Mul', [y, y])])),
  // d erf x = 2/√π·e^(−x²) = e^(log(2/√π) − x²): the constant folded into the exponent saves a pass.
  Erf: unary((c, x) => c.op('Exp', [c.op('Sub', [c.scalar(Math.log(2 / Math.sqrt(Math.PI))), c.op('Mul', [x, x])])])),
  // d softplus x = σ(x)
  Softplus: unary((c, x) => c.op('Sigmoid', [x])),
  // d σ(x) = σ(x)(1 − σ(x))
  Sigmoid: unary((c, _x, y) => c.op('Mul', [y, c.op('Sub', [c.scalar(1), y])])),
  Add: (c, n, [dy]) => binary(c, n, dy!, [() => dy!, () => dy!]),
  Sub: (c, n, [dy]) => binary(c, n, dy!, [() => dy!, () => c.op('Neg', [dy!])]),
  Mul: (c, n, [dy]) => {
    const [a, b] = n.inputs;
    // x·x: one contribution 2·x·dy instead of two and their Sum.
    if (a === b) return [c.op('Mul', [c.op('Mul', [dy!, a]), c.scalar(2)]), undefined];
    return binary(c, n, dy!, [() => c.op('Mul', [dy!, b]), () => c.op('Mul', [dy!, a])]);
  },
  // d(a/b) = da/b − db·(a/b)/b
  Div: (c, n, [dy]) => {
    const b = n.inputs[1];
    return binary(c, n, dy!, [() => c.op('Div', [dy!, b]), () => c.op('Neg', [c.op('Div', [c.op('Mul', [dy!, n.outputs[0]]), b])])]);
  },
  Sum: (c, n, [dy]) => {
    const out = c.shape(n.outputs[0]);
    return n.inputs.map((x, i) => (n.needs[i] ? c.unbroadcast(dy!, out, c.shape(x)) : undefined));
  },
  // Where(cond, a, b): the condition is constant (a mask); dy flows to the branch it selected.
  Where: (c, n, [dy]) => {
    const [cond, a, b] = n.inputs;
    const out = c.shape(n.outputs[0]);
    const zero = c.scalar(0);
    return [
      undefined,
      n.needs[1] ? c.unbroadcast(c.op('Where', [cond, dy!, zero]), out, c.shape(a)) : undefined,
      n.needs[2] ? c.unbroadcast(c.op('Where', [cond, zero, dy!]), out, c.shape(b)) : undefined,
    ];
  },
};
