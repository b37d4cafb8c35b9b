import { describe, expect, it } from 'vitest';
import { forHowLong } from '../../../src/util/clock.js';

describe('forHowLong: a lifetime in the words pages and emails use', () => {
  it('says hours when whole, else minutes, else seconds; one without a plural', () => {
    expect(forHowLong(3600)).toBe('1 hour');
    expect(forHowLong(86_400)).toBe('24 hours');
    expect(forHowLong(5400)).toBe('90 minutes');
    expect(forHowLong(60)).toBe('1 minute');
    expect(forHowLong(90)).toBe('90 seconds');
    expect(forHowLong(1)).toBe('1 second');
  });
});
