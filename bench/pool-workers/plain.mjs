// piscina's own model: a file per task kind. The trivial task of bench/pool.mjs.
export default function (x) { return x + 1; }
