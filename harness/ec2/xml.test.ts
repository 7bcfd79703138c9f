import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { AwsApiError } from './errors.ts';
import { autoScalingErrorXml, autoScalingResponseXml, ec2ErrorXml, ec2List, ec2ResponseXml, memberList } from './xml.ts';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false });
const parse = (xml: string) => parser.parse(xml) as Record<string, any>;
const RID = '8e7a3f1c-0000-4000-8000-000000000001';

describe('EC2 XML', () => {
  it('writes an error as <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>', () => {
    const xml = ec2ErrorXml(new AwsApiError('InvalidInstanceID.NotFound', "The instance ID 'i-0123' does not exist"), RID);
    expect(xml).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID &apos;i-0123&apos; does not exist</Message></Error></Errors><RequestID>${RID}</RequestID></Response>`,
    );
    expect(parse(xml).Response).toEqual({
      Errors: { Error: { Code: 'InvalidInstanceID.NotFound', Message: "The instance ID 'i-0123' does not exist" } },
      RequestID: RID,
    });
  });

  it('writes a response in the 2016-11-15 namespace with requestId first', () => {
    const xml = ec2ResponseXml('DescribeSnapshots', RID, {
      snapshotSet: ec2List([{ snapshotId: 'snap-1', volumeSize: 30, encrypted: false, startTime: new Date(Date.UTC(2016, 0, 21, 13, 48, 34)), ownerAlias: undefined }]),
    });
    expect(xml).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${RID}</requestId><snapshotSet><item><snapshotId>snap-1</snapshotId><volumeSize>30</volumeSize><encrypted>false</encrypted><startTime>2016-01-21T13:48:34.000Z</startTime></item></snapshotSet></DescribeSnapshotsResponse>`,
    );
  });

  it('keeps an empty list as an empty element and repeats <item> for several', () => {
    expect(ec2ResponseXml('DescribeInstances', RID, { reservationSet: ec2List([]) })).toContain('<reservationSet></reservationSet>');
    const two = parse(ec2ResponseXml('DescribeTags', RID, { tagSet: ec2List([{ key: 'a' }, { key: 'b' }]) }));
    expect(two.DescribeTagsResponse.tagSet.item).toEqual([{ key: 'a' }, { key: 'b' }]);
  });

  it('escapes markup in text so that descriptions with <, & and quotes survive', () => {
    const description = `Backup <nightly> & "weekly" 'both'`;
    const xml = ec2ResponseXml('CreateSnapshot', RID, { description });
    expect(parse(xml).CreateSnapshotResponse.description).toBe(description);
  });
});

describe('Auto Scaling XML', () => {
  it('writes an error as <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>', () => {
    const xml = autoScalingErrorXml(new AwsApiError('ValidationError', 'AutoScalingGroup name not found - AutoScalingGroup x not found'), RID);
    expect(parse(xml).ErrorResponse).toEqual({
      '@_xmlns': 'https://autoscaling.amazonaws.com/doc/2011-01-01/',
      Error: { Type: 'Sender', Code: 'ValidationError', Message: 'AutoScalingGroup name not found - AutoScalingGroup x not found' },
      RequestId: RID,
    });
  });

  it('types server-side errors as Receiver', () => {
    const xml = autoScalingErrorXml(new AwsApiError('InternalFailure', 'boom', 500), RID);
    expect(parse(xml).ErrorResponse.Error.Type).toBe('Receiver');
  });

  it('wraps results in <{Action}Result> with <ResponseMetadata><RequestId>, and leaves the Result out when there is none', () => {
    const withResult = parse(autoScalingResponseXml('DescribeAutoScalingGroups', RID, { AutoScalingGroups: memberList([{ AutoScalingGroupName: 'g', MinSize: 1 }]) }));
    expect(withResult.DescribeAutoScalingGroupsResponse).toEqual({
      '@_xmlns': 'https://autoscaling.amazonaws.com/doc/2011-01-01/',
      DescribeAutoScalingGroupsResult: { AutoScalingGroups: { member: { AutoScalingGroupName: 'g', MinSize: '1' } } },
      ResponseMetadata: { RequestId: RID },
    });
    const without = autoScalingResponseXml('SetDesiredCapacity', RID, undefined);
    expect(without).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><SetDesiredCapacityResponse xmlns="https://autoscaling.amazonaws.com/doc/2011-01-01/"><ResponseMetadata><RequestId>${RID}</RequestId></ResponseMetadata></SetDesiredCapacityResponse>`,
    );
  });
});
