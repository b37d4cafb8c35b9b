import { describe, expect, it } from 'vitest';
import { duplicateKey } from '../../../src/util/json-problems.js';

describe('duplicateKey: a key a JSON object holds twice (RFC 8259 §4)', () => {
  it.each([
    ['{"name":"a","name":"b"}', 'name'],
    ['{"a":1,"b":{"c":1,"c":2}}', 'b.c'],
    ['{"list":[{"x":1},{"y":1,"y":2}]}', 'list[].y'],
    ['[{"k":1,"k":1}]', '[].k'],
    // the same key once escaped: JSON.parse reads both as "name"
    ['{"name":"a","n\\u0061me":"b"}', 'name'],
    ['{"a":{"x":1},"a":2}', 'a'],
  ])('%s repeats %s', (text, path) => {
    JSON.parse(text); // valid JSON, as the caller has checked
    expect(duplicateKey(text)).toBe(path);
  });

  it.each([
    '{}',
    '[]',
    '"name"',
    '{"a":{"x":1},"b":{"x":1}}',
    '[{"k":1},{"k":2}]',
    '{"a":"{\\"a\\":1,\\"a\\":2}","b":"\\\\","c":[1,"]",{"d":"}"}]}',
    '{"name":"x"}',
  ])('%s repeats nothing', (text) => {
    JSON.parse(text);
    expect(duplicateKey(text)).toBeNull();
  });
});
