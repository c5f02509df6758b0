/** Options of the public API. */
export interface DumpOptions {
  /** Signs the payload with HMAC-SHA256. A string means its UTF-8 bytes. */
  key?: string | Uint8Array;
}

export interface LoadOptions {
  /** Verifies the signature before reading anything; an unsigned or wrongly signed payload fails. */
  key?: string | Uint8Array;
  /**
   * When false, loads never compiles code, loads modules or calls anything: a payload holding functions,
   * classes or module references fails with PIKALA_CODE_REFUSED before anything runs. Default true.
   */
  allowCode?: boolean;
  /** Where by-reference modules resolve (a folder or file path). Default: the entry script's folder, else cwd. */
  resolveFrom?: string;
  /**
   * When a by-reference package has another version here than where the payload was made:
   * 'warn' (default) loads it and emits a PIKALA_MODULE_VERSION warning naming both; 'error' throws.
   */
  versionMismatch?: 'warn' | 'error' | 'ignore';
  /**
   * Typed arrays, Buffers and DataViews are made over `data`'s own memory instead of copies, as
   * `v8.deserialize` does: loading an 8 MB Float64Array then copies nothing. The price: they alias `data`
   * (writing one changes the other), their `.buffer` is `data`'s ArrayBuffer, and they keep all of it alive.
   * Applies to views whose buffer nothing else in the graph holds, when the bytes are 8-byte aligned in memory
   * (Buffers and fresh Uint8Arrays are) and `data` is not shared memory; everything else is copied as usual.
   * Default false.
   */
  zeroCopy?: boolean;
}
