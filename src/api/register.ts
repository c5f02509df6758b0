import { registerByValue as register, unregisterByValue as unregister } from '../code/modules.js';

/**
 * Ships a package (covering its subpaths, e.g. `lodash` covers `lodash/chunk`) or a file (absolute path, path
 * relative to the working directory, or file: URL) by value instead of by reference.
 */
export function registerByValue(specifier: string): void {
  register(specifier);
}

/** Undoes registerByValue. */
export function unregisterByValue(specifier: string): void {
  unregister(specifier);
}
