/**
 * This build's own `require`, for resolving and loading the packages pikala depends on from where pikala is
 * installed. The ES module tree has no `require` and the CommonJS tree has no `import.meta`; this one file is
 * `.cts`, so TypeScript emits it as CommonJS (`here.cjs`) in both trees (see compute/here.cts).
 */
export const requireHere: NodeJS.Require = require;
