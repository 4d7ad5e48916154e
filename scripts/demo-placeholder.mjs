// Stands in for `pnpm demo` until examples/fork-mesh lands.
console.log('The runnable demo (examples/fork-mesh) lands with the examples. Meanwhile: pnpm test');
