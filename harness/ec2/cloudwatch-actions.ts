/**
 * The twin's CloudWatch subset (API version 2010-08-01): `PutMetricData`, `GetMetricStatistics`, `ListMetrics`,
 * `PutMetricAlarm` / `DeleteAlarms` (alarms running step and simple scaling policies, `metric-alarms.ts`) and
 * `DescribeAlarms` (those and the alarms of target-tracking policies), over both wire protocols clients use: AWS JSON 1.0
 * (`X-Amz-Target: GraniteServiceVersion20100801.<Action>`, what the AWS SDK v3 and botocore ≥ 1.3x speak) and the
 * older Query protocol (`Action=…&Version=2010-08-01`, XML answers). Both are read into one plain object, acted on
 * by one table, and rendered per protocol. The metric store and the target tracking it feeds are pure code in
 * `sim/models/autoscaling/` (`metric-store.ts`, `tracking-scaler.ts`).
 */
import { MetricError, STATISTICS, type Dimension, type PutDatum, type Statistic } from '../../sim/models/autoscaling/metric-store.ts';
import { COMPARISON_OPERATORS, datapointsToAlarm, TREAT_MISSING_DATA, type ComparisonOperator, type TreatMissingData } from '../../sim/models/autoscaling/alarm.ts';
import { MetricAlarmError, type MetricAlarm } from '../../sim/models/autoscaling/metric-alarms.ts';
import { TT_SCALE_IN_DATAPOINTS, TT_SCALE_OUT_DATAPOINTS } from '../../sim/models/autoscaling/target-tracking.ts';
import { trackedMetricOf, TRACKING_PERIOD_MS } from '../../sim/models/autoscaling/tracking-scaler.ts';
import { AwsApiError } from './errors.ts';
import { paginate } from './paginate.ts';
import type { Ec2State } from './state.ts';
import { memberList, type XmlNode, type XmlValue } from './xml.ts';

export const CLOUDWATCH_VERSION = '2010-08-01';
export const CLOUDWATCH_NAMESPACE = `http://monitoring.amazonaws.com/doc/${CLOUDWATCH_VERSION}/`;
/** The JSON protocol's target prefix (`X-Amz-Target: GraniteServiceVersion20100801.PutMetricData`). */
export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801.';

/** A request's parameters, whichever protocol carried them: JSON values, or the Query protocol's strings. */
export type CwInput = { readonly [key: string]: unknown };
/** An answer before rendering: JSON values, with `Date`s for timestamps. */
export type CwOutput = { [key: string]: unknown };

/** CloudWatch's error codes and the JSON protocol's shape for each (the SDK matches either). */
const ERROR_SHAPES: Record<string, string> = {
  InvalidParameterValue: 'InvalidParameterValueException',
  MissingParameter: 'MissingRequiredParameterException',
  InvalidParameterCombination: 'InvalidParameterCombinationException',
  InvalidNextToken: 'InvalidNextToken',
  ResourceNotFound: 'ResourceNotFound',
  InternalServiceError: 'InternalServiceFault',
};

export function cloudWatchErrorShape(code: string): string {
  return `com.amazonaws.cloudwatch#${ERROR_SHAPES[code] ?? code}`;
}

function missing(name: string): AwsApiError {
  return new AwsApiError('MissingParameter', `The parameter ${name} is required.`);
}

function invalid(name: string, value: unknown, hint = ''): AwsApiError {
  return new AwsApiError('InvalidParameterValue', `The value ${String(value)} for parameter ${name} is invalid.${hint === '' ? '' : ` ${hint}`}`);
}

/** Typed reading of one level of a request, naming the full parameter path in its errors. */
class Args {
  constructor(
    private readonly obj: CwInput,
    private readonly path: string,
  ) {}

  private name(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  str(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw invalid(this.name(key), JSON.stringify(v), 'A string is expected.');
    return v;
  }

  required(key: string): string {
    const v = this.str(key);
    if (v === undefined) throw missing(this.name(key));
    return v;
  }

  num(key: string): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw invalid(this.name(key), v, 'A number is expected.');
    return n;
  }

  bool(key: string): boolean | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw invalid(this.name(key), v, 'true or false is expected.');
  }

  /** A timestamp: epoch seconds (JSON) or ISO 8601 (Query). */
  time(key: string): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    const ms = typeof v === 'number' ? v * 1000 : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : typeof v === 'string' ? Date.parse(v) : Number.NaN;
    if (!Number.isFinite(ms)) throw invalid(this.name(key), v, 'An ISO 8601 time or epoch seconds is expected.');
    return Math.round(ms);
  }

  list(key: string): unknown[] {
    const v = this.obj[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw invalid(this.name(key), JSON.stringify(v), 'A list is expected.');
    return v;
  }

  strings(key: string): string[] {
    return this.list(key).map((x, i) => {
      if (typeof x !== 'string') throw invalid(`${this.name(key)}.member.${i + 1}`, JSON.stringify(x), 'A string is expected.');
      return x;
    });
  }

  numbers(key: string): number[] {
    return this.list(key).map((x, i) => {
      const n = typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : Number.NaN;
      if (!Number.isFinite(n)) throw invalid(`${this.name(key)}.member.${i + 1}`, JSON.stringify(x), 'A number is expected.');
      return n;
    });
  }

  structs(key: string): Args[] {
    return this.list(key).map((x, i) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) throw invalid(`${this.name(key)}.member.${i + 1}`, JSON.stringify(x), 'A structure is expected.');
      return new Args(x as CwInput, `${this.name(key)}.member.${i + 1}`);
    });
  }

  sub(key: string): Args | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid(this.name(key), JSON.stringify(v), 'A structure is expected.');
    return new Args(v as CwInput, this.name(key));
  }

  /** Refuses members this endpoint does not act on, so nothing a caller sends is silently ignored. */
  only(keys: readonly string[], hint: string): this {
    for (const k of Object.keys(this.obj)) {
      if (!keys.includes(k)) throw invalid(this.name(k), JSON.stringify(this.obj[k]), `The twin's CloudWatch does not support ${k} here: ${hint}.`);
    }
    return this;
  }
}

function dimensions(a: Args, key: string): Dimension[] {
  return a.structs(key).map((d) => ({ name: d.required('Name'), value: d.required('Value') }));
}

function statistic(value: string, where: string): Statistic {
  if (!(STATISTICS as readonly string[]).includes(value)) throw invalid(where, value, `Valid values: ${STATISTICS.join(', ')}.`);
  return value as Statistic;
}

function dims(ds: readonly Dimension[]): CwOutput[] {
  return ds.map((d) => ({ Name: d.name, Value: d.value }));
}

type CwAction = (input: Args, state: Ec2State) => CwOutput;

const PROTOCOL_KEYS = ['Action', 'Version'];

export const CLOUDWATCH_ACTIONS: Readonly<Record<string, CwAction>> = {
  PutMetricData(a, s) {
    a.only([...PROTOCOL_KEYS, 'Namespace', 'MetricData'], 'it takes Namespace and MetricData');
    const namespace = a.required('Namespace');
    const data: PutDatum[] = a.structs('MetricData').map((d) => {
      d.only(['MetricName', 'Dimensions', 'Timestamp', 'Value', 'StatisticValues', 'Values', 'Counts', 'Unit', 'StorageResolution'], 'a datum has MetricName, Dimensions, Timestamp, Value, StatisticValues, Values, Counts, Unit, StorageResolution');
      const res = d.num('StorageResolution');
      if (res !== undefined && res !== 1 && res !== 60) throw invalid('StorageResolution', res, 'It is 1 (high resolution) or 60.');
      const sv = d.sub('StatisticValues');
      return {
        metricName: d.required('MetricName'),
        dimensions: dimensions(d, 'Dimensions'),
        timestampMs: d.time('Timestamp'),
        unit: d.str('Unit'),
        value: d.num('Value'),
        values: d.numbers('Values'),
        counts: d.numbers('Counts'),
        statisticValues:
          sv === undefined
            ? undefined
            : { sampleCount: num(sv, 'SampleCount'), sum: num(sv, 'Sum'), minimum: num(sv, 'Minimum'), maximum: num(sv, 'Maximum') },
      };
    });
    s.cloudwatch.put(namespace, data);
    return {};
  },

  GetMetricStatistics(a, s) {
    a.only([...PROTOCOL_KEYS, 'Namespace', 'MetricName', 'Dimensions', 'StartTime', 'EndTime', 'Period', 'Statistics', 'Unit'], 'ExtendedStatistics (percentiles) are not kept; ask for SampleCount, Average, Sum, Minimum or Maximum');
    const metricName = a.required('MetricName');
    const startMs = a.time('StartTime');
    const endMs = a.time('EndTime');
    const periodS = a.num('Period');
    if (startMs === undefined) throw missing('StartTime');
    if (endMs === undefined) throw missing('EndTime');
    if (periodS === undefined) throw missing('Period');
    const points = s.cloudwatch.statistics({
      namespace: a.required('Namespace'),
      metricName,
      dimensions: dimensions(a, 'Dimensions'),
      startMs,
      endMs,
      periodS,
      statistics: a.strings('Statistics').map((x, i) => statistic(x, `Statistics.member.${i + 1}`)),
      unit: a.str('Unit'),
    });
    return { Label: metricName, Datapoints: points.map((p) => ({ Timestamp: new Date(p.timestampMs), ...p.values, Unit: p.unit })) };
  },

  ListMetrics(a, s) {
    a.only([...PROTOCOL_KEYS, 'Namespace', 'MetricName', 'Dimensions', 'NextToken'], 'RecentlyActive, IncludeLinkedAccounts and OwningAccount are not modelled');
    const metrics = s.cloudwatch.list({
      namespace: a.str('Namespace'),
      metricName: a.str('MetricName'),
      dimensions: a.structs('Dimensions').map((d) => ({ name: d.required('Name'), value: d.str('Value') })),
    });
    // CloudWatch pages ListMetrics by 500.
    const { page, nextToken } = paginate(metrics, 500, a.str('NextToken'), 'InvalidNextToken');
    return { Metrics: page.map((m) => ({ Namespace: m.namespace, MetricName: m.metricName, Dimensions: dims(m.dimensions) })), NextToken: nextToken };
  },

  PutMetricAlarm(a, s) {
    a.only(
      [...PROTOCOL_KEYS, 'AlarmName', 'AlarmDescription', 'ActionsEnabled', 'AlarmActions', 'MetricName', 'Namespace', 'Statistic', 'Dimensions', 'Period', 'EvaluationPeriods', 'DatapointsToAlarm', 'TreatMissingData', 'Threshold', 'ComparisonOperator'],
      'the twin models alarms on one metric (MetricName, Namespace, Statistic, Dimensions, Period, EvaluationPeriods, DatapointsToAlarm, TreatMissingData, Threshold, ComparisonOperator) whose AlarmActions are scaling policies; OKActions, InsufficientDataActions, Unit, ExtendedStatistic, Metrics, EvaluateLowSampleCountPercentile, ThresholdMetricId and Tags are not modelled',
    );
    const evaluationPeriods = num(a, 'EvaluationPeriods');
    const treatMissingData = a.str('TreatMissingData') ?? 'missing';
    if (!(TREAT_MISSING_DATA as readonly string[]).includes(treatMissingData)) throw invalid('TreatMissingData', treatMissingData, `Valid values: ${TREAT_MISSING_DATA.join(', ')}.`);
    const comparison = a.required('ComparisonOperator');
    if (!(COMPARISON_OPERATORS as readonly string[]).includes(comparison)) throw invalid('ComparisonOperator', comparison, `Valid values: ${COMPARISON_OPERATORS.join(', ')} (anomaly detection bands are not modelled).`);
    s.alarms.put({
      alarmName: a.required('AlarmName'),
      description: a.str('AlarmDescription'),
      actionsEnabled: a.bool('ActionsEnabled') ?? true,
      alarmActions: a.strings('AlarmActions'),
      metric: { namespace: a.required('Namespace'), metricName: a.required('MetricName'), dimensions: dimensions(a, 'Dimensions') },
      statistic: statistic(a.required('Statistic'), 'Statistic'),
      periodS: num(a, 'Period'),
      evaluationPeriods,
      datapointsToAlarm: a.num('DatapointsToAlarm'),
      treatMissingData: treatMissingData as TreatMissingData,
      threshold: num(a, 'Threshold'),
      comparison: comparison as ComparisonOperator,
    });
    return {};
  },

  DeleteAlarms(a, s) {
    a.only([...PROTOCOL_KEYS, 'AlarmNames'], 'it takes AlarmNames');
    const names = a.strings('AlarmNames');
    if (names.length === 0) throw missing('AlarmNames');
    const managed = names.filter((n) => !s.alarms.alarms.has(n) && s.autoscaling.describePolicies({ policyNames: [], policyTypes: ['TargetTrackingScaling'] }).some((p) => p.alarms.some((x) => x.alarmName === n)));
    if (managed.length > 0) throw invalid('AlarmNames', managed.join(', '), 'These alarms belong to target-tracking policies: delete the policy (aws autoscaling delete-policy) instead.');
    s.alarms.delete(names);
    return {};
  },

  DescribeAlarms(a, s) {
    a.only([...PROTOCOL_KEYS, 'AlarmNames', 'AlarmNamePrefix', 'StateValue', 'MaxRecords', 'NextToken'], 'AlarmTypes, ActionPrefix, ChildrenOfAlarmName and ParentsOfAlarmName are not modelled');
    const names = a.strings('AlarmNames');
    const prefix = a.str('AlarmNamePrefix');
    const state = a.str('StateValue');
    if (state !== undefined && !['OK', 'ALARM', 'INSUFFICIENT_DATA'].includes(state)) throw invalid('StateValue', state, 'Valid values: OK, ALARM, INSUFFICIENT_DATA.');
    const alarms = s.autoscaling
      .describePolicies({ policyNames: [], policyTypes: ['TargetTrackingScaling'] })
      .flatMap((p): DescribedAlarm[] => {
        const metric = trackedMetricOf(p);
        const tracked = s.tracking.alarmState(p.policyArn);
        return p.alarms.map((alarm, i) => {
          const high = i === 0;
          const count = tracked === undefined ? undefined : high ? tracked.above : tracked.below;
          const needed = high ? TT_SCALE_OUT_DATAPOINTS : TT_SCALE_IN_DATAPOINTS;
          const value = count === undefined ? 'INSUFFICIENT_DATA' : count >= needed ? 'ALARM' : 'OK';
          return {
            AlarmName: alarm.alarmName,
            AlarmArn: alarm.alarmArn,
            AlarmDescription: `DO NOT EDIT OR DELETE. For TargetTrackingScaling policy ${p.policyArn}.`,
            ActionsEnabled: true,
            AlarmActions: [p.policyArn],
            StateValue: value,
            StateReason: count === undefined ? 'Unchecked: Initial alarm creation' : `${count} consecutive datapoints ${high ? 'above' : 'below'} the threshold (${needed} needed)`,
            MetricName: metric?.id.metricName,
            Namespace: metric?.id.namespace,
            Statistic: metric?.statistic,
            Dimensions: dims(metric?.id.dimensions ?? []),
            Period: TRACKING_PERIOD_MS / 1000,
            EvaluationPeriods: needed,
            DatapointsToAlarm: needed,
            Threshold: p.targetTracking!.targetValue,
            ComparisonOperator: high ? 'GreaterThanThreshold' : 'LessThanThreshold',
          };
        });
      })
      .concat([...s.alarms.alarms.values()].map(describeMetricAlarm))
      .sort((x, y) => (x.AlarmName < y.AlarmName ? -1 : x.AlarmName > y.AlarmName ? 1 : 0))
      .filter((x) => names.length === 0 || names.includes(x.AlarmName))
      .filter((x) => prefix === undefined || x.AlarmName.startsWith(prefix))
      .filter((x) => state === undefined || x.StateValue === state);
    const { page, nextToken } = paginate(alarms, a.num('MaxRecords') ?? 50, a.str('NextToken'), 'InvalidNextToken');
    return { MetricAlarms: page, CompositeAlarms: [], NextToken: nextToken };
  },
};

/** A `PutMetricAlarm` alarm as DescribeAlarms lists it. */
type DescribedAlarm = CwOutput & { AlarmName: string; StateValue: string };

function describeMetricAlarm(m: MetricAlarm): DescribedAlarm {
  return {
    AlarmName: m.alarmName,
    AlarmArn: m.alarmArn,
    AlarmDescription: m.description,
    AlarmConfigurationUpdatedTimestamp: new Date(m.configurationUpdatedMs),
    ActionsEnabled: m.actionsEnabled,
    AlarmActions: [...m.alarmActions],
    StateValue: m.state,
    StateReason: m.stateReason,
    StateUpdatedTimestamp: new Date(m.stateUpdatedMs),
    MetricName: m.metric.metricName,
    Namespace: m.metric.namespace,
    Statistic: m.statistic,
    Dimensions: dims(m.metric.dimensions),
    Period: m.periodS,
    EvaluationPeriods: m.evaluationPeriods,
    DatapointsToAlarm: datapointsToAlarm(m),
    Threshold: m.threshold,
    ComparisonOperator: m.comparison,
    TreatMissingData: m.treatMissingData,
  };
}

function num(a: Args, key: string): number {
  const v = a.num(key);
  if (v === undefined) throw missing(key);
  return v;
}

/** Runs one action on a request read into a plain object; the store's refusals become CloudWatch errors. */
export function runCloudWatchAction(action: string, input: CwInput, state: Ec2State): CwOutput {
  const handler = Object.hasOwn(CLOUDWATCH_ACTIONS, action) ? CLOUDWATCH_ACTIONS[action] : undefined;
  if (handler === undefined) {
    throw new AwsApiError('InvalidAction', `The action ${action} is not valid for this web service (the twin's CloudWatch answers ${Object.keys(CLOUDWATCH_ACTIONS).join(', ')}).`);
  }
  state.sync();
  try {
    return handler(new Args(input, ''), state);
  } catch (e) {
    if (e instanceof MetricError || e instanceof MetricAlarmError) throw new AwsApiError(e.code, e.message);
    throw e;
  }
}

/**
 * The Query protocol's flattened parameters as the JSON protocol's object: `MetricData.member.1.Dimensions.member.2.Name`
 * becomes `MetricData[0].Dimensions[1].Name`; values stay strings (the readers convert).
 */
export function queryToInput(entries: Iterable<readonly [string, string]>): CwInput {
  const root: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    const parts = k.split('.');
    let node: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      let key: string | number = parts[i]!;
      if (Array.isArray(node)) {
        const index = Number(key);
        if (!Number.isInteger(index) || index < 1 || index > 1000) throw invalid(k, v, 'List members are numbered from 1.');
        key = index - 1;
      }
      const isList = parts[i + 1] === 'member';
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[key] = v;
        break;
      }
      if (container[key] === undefined) container[key] = isList ? [] : {};
      node = container[key] as Record<string, unknown> | unknown[];
      if (isList) i++; // skip "member"
    }
  }
  return compact(root) as CwInput;
}

/** Drops the holes a Query list numbered from 1 with gaps would leave. */
function compact(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(compact);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, compact(x)]));
  return v;
}

/** The JSON protocol's body: timestamps as epoch seconds, absent members left out. */
export function outputToJson(out: CwOutput): string {
  const walk = (v: unknown): unknown => {
    if (v instanceof Date) return v.getTime() / 1000;
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return JSON.stringify(walk(out));
}

/** The Query protocol's body: lists as `<member>` elements, timestamps in ISO 8601. */
export function outputToXmlNode(out: CwOutput): XmlNode {
  const walk = (v: unknown): XmlValue => {
    if (v instanceof Date || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return v;
    if (Array.isArray(v)) return memberList(v.map(walk));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
  };
  return walk(out) as XmlNode;
}
