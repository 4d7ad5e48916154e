import type { JsMsg } from '@nats-io/jetstream';
import { expectTypeOf, it } from 'vitest';
import type { ForkConsumerOptions, ForkJsMessage } from '../src/index.js';

// Checked by `tsc -p tsconfig.check.json` (pnpm typecheck): ForkJsMessage is declared by hand so
// that our .d.ts never imports the optional peer @nats-io/jetstream; these fail to compile if
// nats.js's JsMsg stops fitting it.
it('a JsMsg is a ForkJsMessage, and a callback may take JsMsg', () => {
  expectTypeOf<JsMsg>().toExtend<ForkJsMessage>();
  const options: Pick<ForkConsumerOptions, 'callback'> = {
    callback: (message: JsMsg) => message.seq,
  };
  expectTypeOf(options.callback).parameter(0).toEqualTypeOf<ForkJsMessage>();
});
