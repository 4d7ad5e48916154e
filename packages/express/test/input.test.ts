import { configure, getForkId } from '@kubefork/context';
import { ERR_INVALID_OPTION } from '@kubefork/context/integration';
import type { Request } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { send } from '../../../test/support/http-client.js';
import { type ForkContextOptions, forkContext } from '../src/index.js';
import { type ExpressFactory, majors, type Running, serve } from './support.js';

let server: Running | undefined;

afterEach(async () => {
  configure();
  await server?.close();
  server = undefined;
});

async function start(express: ExpressFactory, options?: ForkContextOptions): Promise<string> {
  const app = express();
  app.use(forkContext(options));
  app.get('/', (req, res) => {
    res.json({ fork: getForkId() ?? null, forkId: req.forkId ?? null });
  });
  server = await serve(app);
  return server.base;
}

describe.each(majors)('Express $major: untrusted and bad input', ({ express }) => {
  it('keeps the fork when trust returns true, and passes trust the Express request', async () => {
    const seen: string[] = [];
    const trust = (req: Request) => {
      seen.push(req.get('x-from-mesh') ?? 'none');
      return req.get('x-from-mesh') === '1';
    };
    const base = await start(express, { trust });
    const trusted = await send(base, '/', {
      headers: { 'x-fork-identifier': 'alice', 'x-from-mesh': '1' },
    });
    const untrusted = await send(base, '/', { headers: { 'x-fork-identifier': 'alice' } });
    expect(trusted.json()).toEqual({ fork: 'alice', forkId: 'alice' });
    expect(untrusted.json()).toEqual({ fork: null, forkId: null });
    expect(seen).toEqual(['1', 'none']);
  });
});

describe('forkContext options', () => {
  function thrown(options: unknown): TypeError & { code?: string } {
    try {
      forkContext(options as ForkContextOptions);
    } catch (error) {
      return error as TypeError & { code?: string };
    }
    throw new Error('forkContext did not throw');
  }

  it('throws a TypeError naming trust and the value when trust is not a function', () => {
    const error = thrown({ trust: true });
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe(ERR_INVALID_OPTION);
    expect(error.message).toBe(
      'kubefork: option "trust" must be a function (req) => boolean; received true',
    );
  });

  it('throws a TypeError naming an unknown option, so a typo cannot silently trust everyone', () => {
    const error = thrown({ trsut: () => false });
    expect(error.code).toBe(ERR_INVALID_OPTION);
    expect(error.message).toContain('option "trsut"');
  });

  it('throws a TypeError when the options are not an object', () => {
    expect(thrown('trust').message).toBe(
      'kubefork: option "options" must be an object; received "trust"',
    );
  });
});
