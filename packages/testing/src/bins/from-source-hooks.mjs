/** Module hooks for from-source.mjs: a bin's `../dist/x.js` becomes `../src/x.ts`. */
export async function resolve(specifier, context, nextResolve) {
  const fromBin = context.parentURL !== undefined && /\/bin\/[^/]+\.js$/.test(context.parentURL);
  const match = fromBin ? /^\.\.\/dist\/(.+)\.js$/.exec(specifier) : null;
  return nextResolve(match ? `../src/${match[1]}.ts` : specifier, context);
}
