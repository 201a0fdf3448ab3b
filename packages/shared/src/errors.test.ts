import { describe, expect, it } from 'vitest';
import { isConnectionLoss, NonRetryableError, RetryableError } from './errors';

const withCode = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('isConnectionLoss', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET')],
    ['pg: the server went away mid-query', new Error('Connection terminated unexpectedly')],
    ['pg: a client broken earlier', new Error('Client has encountered a connection error and is not queryable')],
    ['pg: the pool could not connect in time', new Error('timeout exceeded when trying to connect')],
    ['PostgreSQL shutting down (57P01)', withCode('terminating connection due to administrator command', '57P01')],
    ['PostgreSQL starting up (57P03)', withCode('the database system is starting up', '57P03')],
    ['a connection exception (08006)', withCode('connection failure', '08006')],
    ['too many connections (53300)', withCode('sorry, too many clients already', '53300')],
    ['a wrapped loss', new Error('store failed', { cause: new Error('Connection terminated unexpectedly') })],
  ])('is true for %s', (_name, error) => {
    expect(isConnectionLoss(error)).toBe(true);
  });

  it.each([
    ['a constraint violation (23505)', withCode('duplicate key value violates unique constraint', '23505')],
    ['a syntax error (42601)', withCode('syntax error at or near "x"', '42601')],
    ['a typed upstream network error (a publisher, not our database)', new RetryableError('network_error', 'ECONNRESET', { cause: withCode('read ECONNRESET', 'ECONNRESET') })],
    ['a typed bad input', new NonRetryableError('unreadable_document', 'Connection terminated')],
    ['anything else', new Error('boom')],
    ['not an error', 'ECONNREFUSED'],
  ])('is false for %s', (_name, error) => {
    expect(isConnectionLoss(error)).toBe(false);
  });
});
