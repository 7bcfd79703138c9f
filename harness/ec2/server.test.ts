import { afterEach, describe, expect, it } from 'vitest';
import { Ec2Api, type StartedEc2Api } from './server.ts';

let ec2: StartedEc2Api | undefined;
afterEach(async () => {
  await ec2?.stop();
  ec2 = undefined;
});

const AUTH = { authorization: 'AWS4-HMAC-SHA256 Credential=test', 'content-type': 'application/x-www-form-urlencoded' };

describe('Ec2Api on the HTTP layer', () => {
  it('answers what the router refuses in the AWS XML shape: a PUT is a 405 naming GET and POST', async () => {
    ec2 = await new Ec2Api().start();
    const res = await fetch(ec2.url, { method: 'PUT', headers: AUTH, body: 'Action=DescribeInstances&Version=2016-11-15' });
    expect([res.status, res.headers.get('allow'), res.headers.get('content-type')]).toEqual([405, 'GET, HEAD, POST', 'text/xml;charset=UTF-8']);
    expect(await res.text()).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response><Errors><Error><Code>InvalidHttpRequest<\/Code><Message>PUT is not allowed on \/; allowed: GET, HEAD, POST<\/Message><\/Error><\/Errors><RequestID>/);
    const scaling = await fetch(`${ec2.autoscalingUrl}/x`, { method: 'DELETE', headers: AUTH });
    expect(await scaling.text()).toContain('<ErrorResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>InvalidHttpRequest</Code>');
  });

  it('refuses a body past 1 MiB with RequestEntityTooLarge (413), and still serves a body at the limit', async () => {
    ec2 = await new Ec2Api().start();
    const base = 'Action=DescribeInstances&Version=2016-11-15&Pad=';
    const atLimit = await fetch(ec2.url, { method: 'POST', headers: AUTH, body: base + 'x'.repeat((1 << 20) - base.length) });
    expect(atLimit.status).toBe(200);
    const past = await fetch(ec2.url, { method: 'POST', headers: AUTH, body: base + 'x'.repeat((1 << 20) - base.length + 1) });
    expect([past.status, past.headers.get('connection')]).toEqual([413, 'close']);
    expect(await past.text()).toContain('<Code>RequestEntityTooLarge</Code><Message>request body is larger than 1048576 bytes</Message>');
    expect(ec2.requestCounts.get('ec2:(none)')).toBe(1);
  });

  it('answers its health probe on any query method, and the Query API on any path', async () => {
    ec2 = await new Ec2Api().start();
    expect(await (await fetch(`${ec2.url}/_twin/health`)).json()).toEqual({ status: 'ok', service: 'ec2+autoscaling' });
    const res = await fetch(`${ec2.url}/some/path?Action=DescribeInstances&Version=2016-11-15`, { headers: AUTH });
    expect([res.status, (await res.text()).includes('<DescribeInstancesResponse')]).toEqual([200, true]);
  });
});
