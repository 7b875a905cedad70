import { ERROR_CODES, FarmerError } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { toHttpError } from './error-handler.js';
import { HTTP_STATUS, HttpError, SERVER_ERROR_CODES } from './errors.js';

describe('error catalogue → HTTP status', () => {
  it('covers every core and server code; user-input codes are 4xx', () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual([...Object.keys(ERROR_CODES), ...Object.keys(SERVER_ERROR_CODES)].sort());
    for (const code of ['FARMER_E_BAD_INPUT', 'FARMER_E_BAD_CONFIG', 'FARMER_E_NOT_FOUND', 'FARMER_E_CORRUPT', 'FARMER_E_SHAPE', 'FARMER_E_VERSION', 'FARMER_E_NON_FINITE'] as const) {
      expect(HTTP_STATUS[code], code).toBeGreaterThanOrEqual(400);
      expect(HTTP_STATUS[code], code).toBeLessThan(500);
    }
    expect(HTTP_STATUS.FARMER_E_BUSY).toBe(429);
    expect(HTTP_STATUS.FARMER_E_INTERNAL).toBe(500);
  });

  it('maps library errors with their field, validation errors to the deepest field, unknown errors to 500', () => {
    const lib = toHttpError(new FarmerError('FARMER_E_BAD_INPUT', 'labels[2] bad', { field: 'labels[2]' }));
    expect([lib.status, lib.code, lib.field]).toEqual([400, 'FARMER_E_BAD_INPUT', 'labels[2]']);
    const validation = Object.assign(new Error('x'), {
      validationContext: 'body',
      validation: [
        { keyword: 'type', instancePath: '/labels', schemaPath: '', params: { type: 'integer' }, message: 'must be integer' },
        { keyword: 'type', instancePath: '/labels/1', schemaPath: '', params: { type: 'integer' }, message: 'must be integer' },
        { keyword: 'anyOf', instancePath: '/labels', schemaPath: '', params: {}, message: 'must match a schema in anyOf' },
      ],
    });
    expect(toHttpError(validation).toBody()).toEqual({ error: { code: 'FARMER_E_BAD_INPUT', message: 'labels[1] must be integer', field: 'labels[1]' } });
    const nested = Object.assign(new Error('x'), {
      validationContext: 'body',
      validation: [{ keyword: 'required', instancePath: '/cfg/proposal', schemaPath: '', params: { missingProperty: 'pi' }, message: '' }],
    });
    expect(toHttpError(nested).field).toBe('cfg.proposal.pi');
    const bug = toHttpError(new TypeError('undefined is not a function'));
    expect([bug.status, bug.code, bug.field]).toEqual([500, 'FARMER_E_INTERNAL', null]);
    expect(bug.message).not.toContain('undefined is not a function');
    const own = new HttpError('FARMER_E_BUSY', 'busy', { headers: { 'retry-after': '3' } });
    expect(toHttpError(own)).toBe(own);
  });
});
