/**
 * Paths name a value inside the dumped graph for error messages: `root.cache.conn`, `root.list[3]`,
 * `root.map.get("k")`, `root.fn.<closure>.db`. They are only computed when an error is thrown.
 */
const IDENT = /^[A-Za-z_$][\w$]*$/;

export function propertySegment(key: string | symbol | number): string {
  if (typeof key === 'symbol') return `[${String(key)}]`;
  if (typeof key === 'number') return `[${key}]`;
  if (IDENT.test(key)) return `.${key}`;
  if (/^(?:0|[1-9]\d*)$/.test(key)) return `[${key}]`;
  return `[${JSON.stringify(key)}]`;
}

export function describeKey(key: unknown): string {
  switch (typeof key) {
    case 'string': return JSON.stringify(key.length > 40 ? key.slice(0, 40) + '…' : key);
    case 'number': case 'boolean': case 'undefined': return String(key);
    case 'bigint': return `${key}n`;
    case 'symbol': return String(key);
    default: return key === null ? 'null' : '…';
  }
}
