/**
 * `record[key]` when `key` is the record's own property, else undefined.
 * For keys that a user, a file or a request controls: a plain object also
 * answers to the names it inherits (`toString`, `constructor`,
 * `__proto__`, ...), which `record[key]` and `key in record` would find.
 */
export function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
