import { readFileSync } from 'node:fs';
import ts from 'typescript';

/** One function of a source file and its length. */
export interface FunctionLength {
  /** `file:line name`, the line where the function starts. */
  where: string;
  /** Lines from the function's first line to its closing brace, both counted. */
  lines: number;
}

/** What a function is called: its own name, the variable or property it is assigned to, or `(anonymous)`; methods with their class. */
function nameOf(node: ts.SignatureDeclaration, source: ts.SourceFile): string {
  const own = node.name?.getText(source);
  const parent = node.parent;
  const cls = ts.isClassLike(parent) && parent.name ? `${parent.name.getText(source)}.` : '';
  if (own) return cls + own;
  if (ts.isConstructorDeclaration(node)) return `${cls}constructor`;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(source);
  return '(anonymous)';
}

/**
 * Every function with a body in the TypeScript or JavaScript `text` of `file`
 * (declarations, methods, accessors, constructors, arrow functions and
 * function expressions), with its length in lines from the line it starts on
 * to its closing brace. A nested function counts in its own length and in its
 * parent's, as ESLint's max-lines-per-function counts.
 */
export function functionLengths(file: string, text: string = readFileSync(file, 'utf8')): FunctionLength[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: FunctionLength[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ where: `${file}:${first + 1} ${nameOf(node, source)}`, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}
