import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IMAGES } from '../images.ts';
import { parseFileservedUrl, settleFileservedOptions } from './fileserved-provider.ts';
import { settleS3Options } from './s3-provider.ts';
import { bucketNameProblem, parseS3Url, s3UrlFromEnv } from './s3-url.ts';

describe('parseS3Url', () => {
  it('reads a bare endpoint, as AWS_ENDPOINT_URL gives it', () => {
    expect(parseS3Url('http://127.0.0.1:4566')).toEqual({ endpoint: 'http://127.0.0.1:4566', host: '127.0.0.1', port: 4566, bucket: undefined, region: undefined, credentials: undefined, redacted: 'http://127.0.0.1:4566' });
    expect(parseS3Url('https://s3.internal/')).toMatchObject({ endpoint: 'https://s3.internal:443', port: 443, bucket: undefined });
    expect(parseS3Url('http://minio')).toMatchObject({ endpoint: 'http://minio:80', port: 80 });
    expect(parseS3Url('http://[::1]:9000')).toMatchObject({ endpoint: 'http://[::1]:9000', host: '::1' });
  });

  it('reads credentials, a bucket and a region, and never shows the secret', () => {
    const u = parseS3Url('http://AKIA:s3cr%2Ft@localstack:4566/circleci-twin?region=eu-west-1');
    expect(u).toMatchObject({ endpoint: 'http://localstack:4566', bucket: 'circleci-twin', region: 'eu-west-1', credentials: { accessKeyId: 'AKIA', secretAccessKey: 's3cr/t' } });
    expect(u.redacted).toBe('http://AKIA:***@localstack:4566/circleci-twin?region=eu-west-1');
  });

  it.each([
    ['s3://bucket', /scheme 's3', expected 'http' or 'https'/],
    ['127.0.0.1:4566', /has no scheme/],
    ['http://:4566', /has no host/],
    ['http://h:99999', /port '99999'/],
    ['http://h/a/b', /path '\/a\/b': expected at most a bucket name/],
    ['http://h/Bad_Bucket', /bucket 'Bad_Bucket', which may only hold lowercase/],
    ['http://h/ab', /bucket 'ab', which has 2 characters/],
    ['http://h?signature=v2', /parameter 'signature'/],
    ['http://h?region=EU%20West', /region 'EU West'/],
    ['http://key@h', /access key but no secret/],
    ['http://:secret@h', /secret but no access key/],
  ])('rejects %j with BAD_URL and an example', (url, message) => {
    expect(() => parseS3Url(url)).toThrow(message);
    expect(() => parseS3Url(url)).toThrow(expect.objectContaining({ code: 'BAD_URL', hint: expect.stringMatching(/http:\/\/test:test@127\.0\.0\.1:4566/) }));
  });

  it('never puts the secret in an error', () => {
    expect(() => parseS3Url('http://key:topsecret@h/a/b')).toThrow(expect.objectContaining({ message: expect.not.stringMatching(/topsecret/) }));
  });
});

describe('s3UrlFromEnv', () => {
  it('prefers TWIN_S3_URL, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, ignoring blanks', () => {
    expect(s3UrlFromEnv({ TWIN_S3_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://b', AWS_ENDPOINT_URL: 'http://c' })).toBe('http://a');
    expect(s3UrlFromEnv({ TWIN_S3_URL: '  ', AWS_ENDPOINT_URL_S3: 'http://b', AWS_ENDPOINT_URL: 'http://c' })).toBe('http://b');
    expect(s3UrlFromEnv({ AWS_ENDPOINT_URL: ' http://c ' })).toBe('http://c');
    expect(s3UrlFromEnv({})).toBeUndefined();
  });
});

describe('bucketNameProblem', () => {
  it("follows S3's naming rules", () => {
    for (const ok of ['circleci', 'my.bucket-1', 'a1b']) expect(bucketNameProblem(ok)).toBeUndefined();
    expect(bucketNameProblem('-lead')).toMatch(/start and end/);
    expect(bucketNameProblem('a..b')).toMatch(/two dots/);
    expect(bucketNameProblem('192.168.0.1')).toMatch(/IP address/);
    expect(bucketNameProblem('x'.repeat(64))).toMatch(/64 characters/);
  });
});

describe('settleS3Options', () => {
  it('defaults: auto, bucket circleci, us-east-1, the pinned LocalStack image', () => {
    expect(settleS3Options({})).toEqual({ backend: 'auto', url: undefined, external: undefined, bucket: 'circleci', region: 'us-east-1', image: 'localstack/localstack:4.5', startTimeoutMs: 60_000 });
  });

  it("takes the URL's bucket and region unless set explicitly", () => {
    expect(settleS3Options({ url: 'http://h:4566/from-url?region=eu-west-1' })).toMatchObject({ bucket: 'from-url', region: 'eu-west-1' });
    expect(settleS3Options({ url: 'http://h:4566/from-url?region=eu-west-1', bucket: 'explicit', region: 'us-west-2' })).toMatchObject({ bucket: 'explicit', region: 'us-west-2' });
  });

  it('refuses a bad bucket name before anything starts', () => {
    expect(() => settleS3Options({ bucket: 'Upper' })).toThrow(/bucket name 'Upper' may only hold lowercase/);
  });

  it('pins the same LocalStack tag as docker-compose.localstack.yml', () => {
    const compose = readFileSync(fileURLToPath(new URL('../../../docker-compose.localstack.yml', import.meta.url)), 'utf8');
    expect(/^\s*image:\s*(\S+)\s*$/m.exec(compose)?.[1]).toBe(IMAGES.localstack);
  });
});

describe('fileserved options', () => {
  it('takes an http(s) base URL, with a path, without credentials or parameters', () => {
    expect(parseFileservedUrl('http://services:3000/files/')).toMatchObject({ origin: 'http://services:3000', rawPath: 'files/' });
    expect(() => parseFileservedUrl('http://u:p@services')).toThrow(expect.objectContaining({ code: 'BAD_URL', message: expect.stringMatching(/credentials/) }));
    expect(() => parseFileservedUrl('http://services?x=1')).toThrow(/query parameters/);
    expect(() => parseFileservedUrl('ftp://services')).toThrow(/scheme 'ftp'/);
  });

  it('defaults to auto with a 1 GiB object limit, and refuses a limit that is not a positive integer', () => {
    expect(settleFileservedOptions({})).toEqual({ backend: 'auto', url: undefined, external: undefined, maxObjectBytes: 1024 ** 3, startTimeoutMs: 10_000 });
    expect(() => settleFileservedOptions({ maxObjectBytes: 0 })).toThrow(/maxObjectBytes 0/);
  });
});
