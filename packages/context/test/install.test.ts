import { describe, expect, it } from 'vitest';
import { installShared } from '../src/integration.js';

describe('installShared', () => {
  it('installs once for every user, removes with the last uninstall, and installs afresh later', () => {
    const key = Symbol('kubefork.test.installation');
    const log: string[] = [];
    const install = () => {
      log.push('install');
      return () => void log.push('remove');
    };
    const first = installShared(key, install);
    const second = installShared(key, install);
    expect(log).toEqual(['install']);
    first();
    first(); // each uninstall function works once: this must not take the second user's share
    expect(log).toEqual(['install']);
    second();
    expect(log).toEqual(['install', 'remove']);
    installShared(key, install)();
    expect(log).toEqual(['install', 'remove', 'install', 'remove']);
  });
});
