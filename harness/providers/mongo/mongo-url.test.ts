import { describe, expect, it } from 'vitest';
import { parseMongoUrl } from './mongo-url.ts';
import { settleMongoOptions } from './mongo-provider.ts';

describe('parseMongoUrl', () => {
  it('reads a seed list, ports and the database', () => {
    expect(parseMongoUrl('mongodb://u:p@m1:27018,m2/circle?replicaSet=rs0')).toMatchObject({
      hosts: [{ host: 'm1', port: 27018 }, { host: 'm2', port: 27017 }],
      srv: false,
      database: 'circle',
      redacted: 'mongodb://u:***@m1:27018,m2/circle?replicaSet=rs0',
    });
    expect(parseMongoUrl('mongodb+srv://cluster.example.com')).toMatchObject({ srv: true, database: undefined });
  });

  it.each([
    ['postgres://db', /scheme 'postgres', expected 'mongodb' or 'mongodb\+srv'/],
    ['mongodb://', /has no host/],
    ['mongodb://m1,,m2/x', /empty host/],
    ['mongodb://m1:99999', /port '99999'/],
    ['mongodb+srv://c.example.com:27017', /does not allow/],
    ['mongodb+srv://a.example.com,b.example.com', /several hosts/],
    ['mongodb://m1/bad.name', /names cannot contain/],
  ])('rejects %j with BAD_URL', (url, message) => {
    expect(() => parseMongoUrl(url)).toThrow(message);
    expect(() => parseMongoUrl(url)).toThrow(expect.objectContaining({ code: 'BAD_URL' }));
  });

  it('takes the default database from the URL unless one was set', () => {
    expect(settleMongoOptions({ url: 'mongodb://m1/ops' }).database).toBe('ops');
    expect(settleMongoOptions({ url: 'mongodb://m1/ops', database: 'x' }).database).toBe('x');
    expect(settleMongoOptions({}).database).toBe('circle');
  });
});
