/**
 * The command line's defaults, apart from the modules that use them: `cli/main.ts` shows them in its
 * help and must load before any heavy module, so the heap is sized first (cli/heap-growth.ts).
 */
export const DEFAULT_PROPERTIES = 'config/application-properties-dev.json';
export const DEFAULT_REDIS = 'redis://127.0.0.1:6379';
export const DEFAULT_APP = 'shardflow';
export const DEFAULT_METRICS_PORT = 9400;
