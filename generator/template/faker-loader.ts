/**
 * Loads faker 10, which is an ES module only. TypeScript compiles `import()` in this CommonJS build to
 * `require()`, which cannot load it on every Node we support; a function made at run time keeps Node's
 * real `import()` (as worker/transform/module-loader.ts does for transform modules). Only a template
 * that uses a faker helper calls this, so `shardflow worker` and the stock generator never load faker.
 */
import type { Faker } from '@faker-js/faker';

const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<{ faker: Faker }>;

/**
 * faker with English data only, as KDG's: the package's main entry would load every locale
 * (about 10 times the time and memory).
 */
export async function loadFaker(): Promise<Faker> {
  return (await nativeImport('@faker-js/faker/locale/en')).faker;
}
