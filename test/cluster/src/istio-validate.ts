// istiod's own validation, run offline: ../istio-validate/build.sh builds a small Go program
// from istio.io/istio (main.go there) once and caches it by its sources; KUBEFORK_ISTIO_VALIDATE
// points at a ready binary instead. The program runs what istiod's validating webhook runs for
// each object (decode, convert, the schema's ValidateConfig, unknown top-level fields), checks
// that the CRD schemas of the API server never make.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What istiod's webhook says about one object: it admits the object when `errors` is empty. */
export interface IstioValidation {
  name: string;
  namespace: string;
  kind: string;
  errors: string[];
  warnings: string[];
}

let cached: string | undefined;

/** The path of the istio-validate binary, built on first use (needs Go and the module proxy). */
export function istioValidateBinary(): string {
  if (cached) return cached;
  let bin = process.env.KUBEFORK_ISTIO_VALIDATE;
  if (!bin) {
    const script = fileURLToPath(new URL('../istio-validate/build.sh', import.meta.url));
    try {
      bin = execFileSync('bash', [script], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }).trim();
    } catch (error) {
      throw new Error(
        `could not build istio-validate with ${script} (needs Go and the Go module proxy; ` +
          `run it by hand to see why): ${(error as Error).message}`,
      );
    }
  }
  if (!existsSync(bin))
    throw new Error(`${bin} is missing: run test/cluster/istio-validate/build.sh`);
  cached = bin;
  return bin;
}

/** Runs istiod's validation on `objects`; one result per object, in the same order. */
export function validateWithIstio(objects: readonly unknown[]): Promise<IstioValidation[]> {
  const bin = istioValidateBinary();
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      [],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${bin} failed: ${error.message}\n${stderr}`));
          return;
        }
        const results = stdout
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as IstioValidation);
        if (results.length !== objects.length) {
          reject(new Error(`${bin} answered ${results.length} of ${objects.length} objects`));
          return;
        }
        resolve(results);
      },
    );
    child.stdin?.end(JSON.stringify(objects));
  });
}
