import { XMLBuilder } from 'fast-xml-parser';
import type { AwsApiError } from './errors.ts';

/** The EC2 API version the twin speaks, and its XML namespace. */
export const EC2_VERSION = '2016-11-15';
export const EC2_NAMESPACE = `http://ec2.amazonaws.com/doc/${EC2_VERSION}/`;
/** The Auto Scaling API version and namespace. */
export const AUTOSCALING_VERSION = '2011-01-01';
export const AUTOSCALING_NAMESPACE = `https://autoscaling.amazonaws.com/doc/${AUTOSCALING_VERSION}/`;

/**
 * A response body before it is XML: element names to values. Scalars become text (booleans as `true`/`false`,
 * dates as ISO 8601 with milliseconds); `undefined` members are left out; arrays repeat their element.
 */
export type XmlValue = string | number | boolean | Date | undefined | null | XmlNode | XmlValue[];
export interface XmlNode {
  [element: string]: XmlValue;
}

/** An EC2 list: `<fooSet><item>…</item>…</fooSet>`. */
export function ec2List(items: readonly XmlValue[]): XmlNode {
  return { item: [...items] };
}

/** An Auto Scaling list: `<Foos><member>…</member>…</Foos>`. */
export function memberList(items: readonly XmlValue[]): XmlNode {
  return { member: [...items] };
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: false,
  suppressEmptyNode: false,
});

function normalise(v: XmlValue): unknown {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(normalise).filter((x) => x !== undefined);
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(v)) {
    const n = normalise(child);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

function document(root: string, namespace: string | undefined, body: XmlNode): string {
  const element: Record<string, unknown> = namespace === undefined ? {} : { '@_xmlns': namespace };
  Object.assign(element, normalise(body) as Record<string, unknown>);
  return builder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, [root]: element }) as string;
}

/** `<{Action}Response xmlns="…/2016-11-15/"><requestId>…</requestId>…</{Action}Response>`. */
export function ec2ResponseXml(action: string, requestId: string, body: XmlNode, namespace = EC2_NAMESPACE): string {
  return document(`${action}Response`, namespace, { requestId, ...body });
}

/** `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>`. */
export function ec2ErrorXml(error: Pick<AwsApiError, 'code' | 'message'>, requestId: string): string {
  return document('Response', undefined, {
    Errors: { Error: { Code: error.code, Message: error.message } },
    RequestID: requestId,
  });
}

/**
 * `<{Action}Response><{Action}Result>…</{Action}Result><ResponseMetadata><RequestId>…` (the Result element is
 * left out for actions that return nothing, as Auto Scaling does); CloudWatch's Query answers have this shape
 * in their own namespace.
 */
export function autoScalingResponseXml(action: string, requestId: string, result: XmlNode | undefined, namespace = AUTOSCALING_NAMESPACE): string {
  const body: XmlNode = {};
  if (result !== undefined) body[`${action}Result`] = result;
  body.ResponseMetadata = { RequestId: requestId };
  return document(`${action}Response`, namespace, body);
}

/** `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>…</Message></Error><RequestId>…`. */
export function autoScalingErrorXml(error: Pick<AwsApiError, 'code' | 'message' | 'type'>, requestId: string, namespace = AUTOSCALING_NAMESPACE): string {
  return document('ErrorResponse', namespace, {
    Error: { Type: error.type, Code: error.code, Message: error.message },
    RequestId: requestId,
  });
}
