import { Option, type Command } from 'commander';
import { generateOptionFields, generateOptionProblem, generateOptionsFromValues, type GenerateOptionField, type GenerateOptionsInput } from '@farmer/sampling';
import { UsageError } from '../errors.js';

/*
 * The CLI's flags of generate's options, derived from @farmer/sampling's
 * generate-options schema: the flag's name, what it parses, its bounds, its
 * help and its default all come from there (issue 29). The CLI adds only
 * its conveniences (--per-class, --unconditional, the count's default).
 */

/** Options whose flags each command declares itself (with its own help and default) through {@link generateOptionFlag}. */
const PER_COMMAND = new Set(['count', 'labels', 'imageSeeds']);

const FIELDS: readonly GenerateOptionField[] = generateOptionFields();

function fieldOf(key: string): GenerateOptionField {
  const f = FIELDS.find((x) => x.key === key);
  if (!f) throw new Error(`internal: '${key}' is not a generate option`);
  return f;
}

/** One comma-separated entry as a seed: an integer when it is all digits (as in JSON), else the text. */
const seedEntry = (s: string): number | string => (/^\d+$/.test(s) ? Number(s) : s);

/** Parses a flag's text as its kind says, then checks it against the option's schema; a UsageError names the flag. */
function parser(f: GenerateOptionField, flag: string): (text: string) => unknown {
  const read = (text: string): unknown => {
    const s = text.trim();
    switch (f.kind) {
      case 'integer':
        if (!/^-?\d+$/.test(s)) throw new UsageError(`${flag} takes an integer, got '${text}'`);
        return Number(s);
      case 'number':
        // Infinity is read as a number: the schema says whether the option takes it.
        if (s === '' || Number.isNaN(Number(s))) throw new UsageError(`${flag} takes a number, got '${text}'`);
        return Number(s);
      case 'labels':
        if (!/^-?\d+(\s*,\s*-?\d+)*$/.test(s)) throw new UsageError(`${flag} takes comma-separated integers, got '${text}'`);
        return s.split(',').map((v) => Number(v.trim()));
      case 'seeds':
        return s.split(',').map((v) => seedEntry(v.trim()));
      default:
        return s;
    }
  };
  return (text: string) => {
    const value = read(text);
    const problem = generateOptionProblem(f, value);
    if (problem) throw new UsageError(`${flag} ${problem}`);
    return value;
  };
}

/** The flag's help: the sampler it belongs to, the schema's description, its default. */
function helpOf(f: GenerateOptionField): string {
  const of = f.samplers ? `${f.samplers.join(', ')}: ` : '';
  const d = f.defaultValue === undefined ? '' : ` (default ${String(f.defaultValue)})`;
  return `${of}${f.description}${d}`;
}

const ARGUMENT: Readonly<Record<GenerateOptionField['kind'], string>> = { number: '<x>', integer: '<n>', choice: '<name>', labels: '<list>', seeds: '<list>' };

/** The commander option of generate option `key` (`cfg.w`, `imageSeeds`), with the schema's help unless `help` is given. */
export function generateOptionFlag(key: string, help?: string): Option {
  const f = fieldOf(key);
  const flag = `--${f.flag}`;
  return new Option(`${flag} ${ARGUMENT[f.kind]}`, help ?? helpOf(f)).argParser(parser(f, flag));
}

/** The attribute commander stores option `f`'s value under (`--cfg-pool-c` → `cfgPoolC`). */
const attributeOf = (f: GenerateOptionField): string => new Option(`--${f.flag} <v>`).attributeName();

/** Adds a flag for every generate option but those each command declares itself (count, labels, image seeds). */
export function addGenerateOptionFlags(cmd: Command): Command {
  for (const f of FIELDS) if (!PER_COMMAND.has(f.key)) cmd.addOption(generateOptionFlag(f.key));
  return cmd;
}

/** The generate options the flags give (undefined flags are left to the library's defaults), with `overrides` by option key. */
export function generateOptionsOfFlags(flags: Readonly<Record<string, unknown>>, overrides: Readonly<Record<string, unknown>> = {}): GenerateOptionsInput {
  const values: Record<string, unknown> = {};
  for (const f of FIELDS) values[f.key] = f.key in overrides ? overrides[f.key] : flags[attributeOf(f)];
  return generateOptionsFromValues(values);
}
