import { describe, expect, it } from 'vitest';
import { ERR_INVALID_OPTION, invalidOption } from '../src/integration.js';

describe('invalidOption', () => {
  it('builds a TypeError with the stable code, naming the option, the rule and the value', () => {
    const error = invalidOption('trust', true, 'a function (request) => boolean');
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe(ERR_INVALID_OPTION);
    expect(error.message).toBe(
      'kubefork: option "trust" must be a function (request) => boolean; received true',
    );
  });

  it('renders long strings shortened and objects by their constructor name', () => {
    expect(invalidOption('x', 'a'.repeat(100), 'short').message).toContain(`"${'a'.repeat(80)}…"`);
    expect(invalidOption('x', new Map(), 'a function').message).toContain('[object Map]');
  });
});
