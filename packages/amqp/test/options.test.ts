// Setup mistakes: a TypeError naming the option and the value.
import { describe, expect, it } from 'vitest';
import { forkChannel, runInMessageFork } from '../src/index.js';

const channelLike = () => ({ publish() {}, sendToQueue() {}, consume() {} });

describe('forkChannel', () => {
  it('refuses something that is not a channel', () => {
    expect(() => forkChannel({})).toThrow(
      'kubefork: option "channel" must be an amqplib Channel or ConfirmChannel; received [object Object]',
    );
    expect(() => forkChannel(null as never)).toThrow(TypeError);
  });

  it('refuses a trust that is not a function, and unknown options', () => {
    expect(() => forkChannel(channelLike(), { trust: true as never })).toThrow(
      'kubefork: option "trust" must be a function (message) => boolean; received true',
    );
    expect(() => forkChannel(channelLike(), { trusted: () => true } as never)).toThrow(
      /option "trusted" must be one of: trust \(unknown option\)/,
    );
  });

  it('returns the same channel, wrapped once however often it is called', () => {
    const channel = channelLike();
    const wrapped = forkChannel(channel);
    const publish = wrapped.publish;
    expect(wrapped).toBe(channel);
    expect(forkChannel(channel).publish).toBe(publish);
    expect(Object.keys(channel)).toEqual(['publish', 'sendToQueue', 'consume']);
  });
});

describe('runInMessageFork', () => {
  it('refuses a bad trust option', () => {
    const message = { properties: { headers: {} } } as never;
    expect(() => runInMessageFork(message, () => 1, { trust: 'yes' as never })).toThrow(TypeError);
  });

  it('runs a message without headers, or a hostile object, as baseline', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    expect(runInMessageFork({ properties: {} } as never, () => 'ran')).toBe('ran');
    expect(runInMessageFork(hostile as never, () => 'ran')).toBe('ran');
  });
});
