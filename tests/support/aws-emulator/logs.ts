/**
 * CloudWatch Logs (JSON 1.1, `Logs_20140328.*`): log groups and streams in memory, GetLogEvents with the real
 * token semantics (`nextForwardToken` is returned unchanged when there is nothing new, so a poller can stop on
 * "same token twice"), plus the few management calls a tool may make.
 */
import { ServiceError, asString, requireString } from './protocol.js';

export interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface LogStream {
  name: string;
  creationTime: number;
  events: LogEvent[];
}

export interface LogGroup {
  name: string;
  creationTime: number;
  streams: Map<string, LogStream>;
}

const TOKEN_WIDTH = 56;

function token(direction: 'f' | 'b', position: number): string {
  return `${direction}/${String(position).padStart(TOKEN_WIDTH, '0')}/s`;
}

function parseToken(value: string): { direction: 'f' | 'b'; position: number } {
  const match = /^([fb])\/(\d{1,60})\/s$/.exec(value);
  if (match === null) throw new ServiceError('InvalidParameterException', 'The specified nextToken is invalid.');
  return { direction: match[1] === 'f' ? 'f' : 'b', position: Number(match[2]) };
}

export class LogsStore {
  readonly groups = new Map<string, LogGroup>();

  constructor(
    private readonly region: () => string,
    private readonly account: string,
  ) {}

  createGroup(name: string, failIfExists = true): LogGroup {
    const existing = this.groups.get(name);
    if (existing !== undefined) {
      if (failIfExists)
        throw new ServiceError('ResourceAlreadyExistsException', 'The specified log group already exists');
      return existing;
    }
    const group: LogGroup = { name, creationTime: Date.now(), streams: new Map() };
    this.groups.set(name, group);
    return group;
  }

  createStream(groupName: string, streamName: string, failIfExists = true): LogStream {
    const group = this.groups.get(groupName);
    if (group === undefined)
      throw new ServiceError('ResourceNotFoundException', 'The specified log group does not exist.');
    const existing = group.streams.get(streamName);
    if (existing !== undefined) {
      if (failIfExists) {
        throw new ServiceError('ResourceAlreadyExistsException', 'The specified log stream already exists');
      }
      return existing;
    }
    const stream: LogStream = { name: streamName, creationTime: Date.now(), events: [] };
    group.streams.set(streamName, stream);
    return stream;
  }

  /** Appends one event per line of `message` (CloudWatch caps an event at 256 KiB; longer lines are split). */
  append(groupName: string, streamName: string, message: string, timestamp = Date.now()): void {
    const stream = this.groups.get(groupName)?.streams.get(streamName);
    if (stream === undefined) throw new Error(`emulator: no log stream ${groupName}/${streamName}`);
    const max = 256 * 1024 - 26;
    for (let start = 0; start === 0 || start < message.length; start += max) {
      stream.events.push({ timestamp, message: message.slice(start, start + max), ingestionTime: Date.now() });
    }
  }

  /** All messages of a stream, for assertions. */
  messages(groupName: string, streamName: string): string[] {
    return (
      this.groups
        .get(groupName)
        ?.streams.get(streamName)
        ?.events.map((e) => e.message) ?? []
    );
  }

  private stream(input: Record<string, unknown>): LogStream {
    const groupName = asString(input['logGroupName']) ?? groupFromIdentifier(asString(input['logGroupIdentifier']));
    if (groupName === undefined) {
      throw new ServiceError(
        'InvalidParameterException',
        'Either logGroupName or logGroupIdentifier must be specified.',
      );
    }
    const streamName = requireString(input, 'logStreamName', 'InvalidParameterException');
    const group = this.groups.get(groupName);
    if (group === undefined)
      throw new ServiceError('ResourceNotFoundException', 'The specified log group does not exist.');
    const stream = group.streams.get(streamName);
    if (stream === undefined) {
      throw new ServiceError('ResourceNotFoundException', 'The specified log stream does not exist.');
    }
    return stream;
  }

  handle(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'GetLogEvents':
        return this.getLogEvents(input);
      case 'CreateLogGroup':
        this.createGroup(requireString(input, 'logGroupName', 'InvalidParameterException'));
        return {};
      case 'CreateLogStream':
        this.createStream(
          requireString(input, 'logGroupName', 'InvalidParameterException'),
          requireString(input, 'logStreamName', 'InvalidParameterException'),
        );
        return {};
      case 'PutLogEvents': {
        const stream = this.stream(input);
        const events = Array.isArray(input['logEvents']) ? (input['logEvents'] as Record<string, unknown>[]) : [];
        for (const event of events) {
          stream.events.push({
            timestamp: Number(event['timestamp'] ?? Date.now()),
            message: String(event['message'] ?? ''),
            ingestionTime: Date.now(),
          });
        }
        return { nextSequenceToken: String(stream.events.length) };
      }
      case 'DescribeLogGroups': {
        const prefix = asString(input['logGroupNamePrefix']) ?? '';
        return {
          logGroups: [...this.groups.values()]
            .filter((g) => g.name.startsWith(prefix))
            .sort((a, b) => a.name.localeCompare(b.name))
            .map((g) => ({
              logGroupName: g.name,
              creationTime: g.creationTime,
              arn: `arn:aws:logs:${this.region()}:${this.account}:log-group:${g.name}:*`,
              storedBytes: 0,
            })),
        };
      }
      case 'DescribeLogStreams': {
        const groupName = requireString(input, 'logGroupName', 'InvalidParameterException');
        const group = this.groups.get(groupName);
        if (group === undefined) {
          throw new ServiceError('ResourceNotFoundException', 'The specified log group does not exist.');
        }
        const prefix = asString(input['logStreamNamePrefix']) ?? '';
        let streams = [...group.streams.values()].filter((s) => s.name.startsWith(prefix));
        if (input['orderBy'] === 'LastEventTime') {
          streams.sort((a, b) => (a.events.at(-1)?.timestamp ?? 0) - (b.events.at(-1)?.timestamp ?? 0));
        } else {
          streams.sort((a, b) => a.name.localeCompare(b.name));
        }
        if (input['descending'] === true) streams.reverse();
        const limit = typeof input['limit'] === 'number' ? input['limit'] : 50;
        streams = streams.slice(0, limit);
        return {
          logStreams: streams.map((s) => ({
            logStreamName: s.name,
            creationTime: s.creationTime,
            firstEventTimestamp: s.events[0]?.timestamp,
            lastEventTimestamp: s.events.at(-1)?.timestamp,
            lastIngestionTime: s.events.at(-1)?.ingestionTime,
            arn: `arn:aws:logs:${this.region()}:${this.account}:log-group:${groupName}:log-stream:${s.name}`,
            storedBytes: 0,
          })),
        };
      }
      default:
        throw new ServiceError('UnknownOperationException', `The emulator does not implement Logs ${operation}`);
    }
  }

  private getLogEvents(input: Record<string, unknown>): unknown {
    const stream = this.stream(input);
    const events = stream.events;
    const limit = typeof input['limit'] === 'number' ? Math.max(1, Math.min(10_000, input['limit'])) : 10_000;
    const startTime = typeof input['startTime'] === 'number' ? input['startTime'] : undefined;
    const endTime = typeof input['endTime'] === 'number' ? input['endTime'] : undefined;
    const inRange = (e: LogEvent) =>
      (startTime === undefined || e.timestamp >= startTime) && (endTime === undefined || e.timestamp < endTime);
    const nextToken = asString(input['nextToken']);
    const parsed = nextToken === undefined ? undefined : parseToken(nextToken);
    const picked: number[] = [];
    let forwardEnd: number;
    let backwardStart: number;
    if (parsed?.direction === 'b' || (parsed === undefined && input['startFromHead'] !== true)) {
      // Backwards from the token's position (or from the end): the newest `limit` events before it, oldest first.
      const end = Math.min(parsed?.position ?? events.length, events.length);
      let k = end - 1;
      for (; k >= 0 && picked.length < limit; k--) {
        const event = events[k];
        if (event !== undefined && inRange(event)) picked.unshift(k);
      }
      backwardStart = picked[0] ?? end;
      forwardEnd = parsed === undefined ? end : (picked.at(-1) ?? end - 1) + 1;
      if (parsed !== undefined && picked.length === 0) forwardEnd = end;
    } else {
      const start = parsed?.position ?? 0;
      let k = start;
      for (; k < events.length && picked.length < limit; k++) {
        const event = events[k];
        if (event !== undefined && inRange(event)) picked.push(k);
      }
      forwardEnd = picked.length === 0 ? (parsed === undefined ? k : start) : k;
      backwardStart = start;
    }
    const result = {
      events: picked.map((k) => events[k]),
      nextForwardToken: token('f', forwardEnd),
      nextBackwardToken: token('b', backwardStart),
    };
    // An unchanged forward token is the signal that no new events exist: keep the caller's token byte-for-byte.
    if (parsed?.direction === 'f' && picked.length === 0 && nextToken !== undefined)
      result.nextForwardToken = nextToken;
    return result;
  }
}

function groupFromIdentifier(identifier: string | undefined): string | undefined {
  if (identifier === undefined) return undefined;
  const match = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)/.exec(identifier);
  return match?.[1] ?? identifier;
}
