import fc from 'fast-check';

// Loaded by vitest.mutation.config.ts only. Property tests draw random inputs; under mutation
// testing they must draw the same ones every run, or a mutant could be killed in one run and
// survive the next (and the incremental state would flip for no change). And a property that
// fails has already killed the mutant: shrinking its counterexample would only burn the time
// until Stryker calls it a timeout.
fc.configureGlobal({ seed: 20_240_611, endOnFailure: true });
