// How long and how hard the chain benchmarks run, from the environment.
//
//   BENCH_QUICK=1          smoke run: 1 round, short windows, few connections (well under a minute)
//   BENCH_ROUNDS=n         interleaved rounds (default 5)
//   BENCH_WARMUP_MS=ms     warm-up before each window (default 3000)
//   BENCH_WINDOW_MS=ms     measured window (default 8000)
//   BENCH_CONNECTIONS=n    keep-alive connections = requests in flight (default 50)
//   BENCH_JSON=dir         also write each chain's raw runs to dir/<chain>.json
//   BENCH_PROFILE=a|b      run service A (or B) with --cpu-prof into bench/.profiles/
//   BENCH_VARIANTS=a,b     only these variants (e.g. minimum,kubefork while profiling)

export interface ChainOptions {
  quick: boolean;
  rounds: number;
  warmupMs: number;
  windowMs: number;
  connections: number;
  jsonDir: string | undefined;
  profile: 'a' | 'b' | undefined;
  /** Only these variants, when set. */
  variants: string[] | undefined;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive integer; received ${JSON.stringify(raw)}`);
  }
  return value;
}

export function chainOptions(env: NodeJS.ProcessEnv = process.env): ChainOptions {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const profile = env.BENCH_PROFILE?.toLowerCase();
  if (profile !== undefined && profile !== '' && profile !== 'a' && profile !== 'b') {
    throw new TypeError(`BENCH_PROFILE must be "a" or "b"; received ${JSON.stringify(profile)}`);
  }
  return {
    quick,
    rounds: positiveInteger(env, 'BENCH_ROUNDS', quick ? 1 : 5),
    warmupMs: positiveInteger(env, 'BENCH_WARMUP_MS', quick ? 300 : 3000),
    windowMs: positiveInteger(env, 'BENCH_WINDOW_MS', quick ? 700 : 8000),
    connections: positiveInteger(env, 'BENCH_CONNECTIONS', quick ? 8 : 50),
    jsonDir: env.BENCH_JSON || undefined,
    profile: profile === 'a' || profile === 'b' ? profile : undefined,
    variants: env.BENCH_VARIANTS
      ? env.BENCH_VARIANTS.split(',').map((name) => name.trim())
      : undefined,
  };
}
