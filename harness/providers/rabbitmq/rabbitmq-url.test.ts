import { describe, expect, it } from 'vitest';
import { parseRabbitMQUrl } from './rabbitmq-url.ts';

describe('parseRabbitMQUrl', () => {
  it('reads host, port and vhost; amqps defaults to 5671', () => {
    expect(parseRabbitMQUrl('amqp://u:p@mq:5673/%2F')).toMatchObject({ host: 'mq', port: 5673, vhost: '/', tls: false });
    expect(parseRabbitMQUrl('amqp://mq')).toMatchObject({ port: 5672, vhost: '/' });
    expect(parseRabbitMQUrl('amqps://mq/circle')).toMatchObject({ port: 5671, vhost: 'circle', tls: true });
    expect(parseRabbitMQUrl('amqps://mq:5999')).toMatchObject({ port: 5999 });
  });

  it.each([
    ['rabbitmq://mq', /scheme 'rabbitmq', expected 'amqp' or 'amqps'/],
    ['amqp://mq/a/b', /path '\/a\/b': the path is one vhost name, with '\/' written as %2F/],
    ['amqp://mq:123456', /port '123456'/],
    ['amqp://u:secret@:5672', /has no host/],
  ])('rejects %j with BAD_URL', (url, message) => {
    expect(() => parseRabbitMQUrl(url)).toThrow(message);
    expect(() => parseRabbitMQUrl(url)).toThrow(expect.objectContaining({ code: 'BAD_URL' }));
  });

  it('never shows the password', () => {
    expect(() => parseRabbitMQUrl('amqp://u:secret@:5672')).toThrow(/u:\*\*\*@/);
  });
});
