import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../../core/src/errors.js';
import { inflateStory, runHpackInflate } from '../../../../core/src/http2/hpack/inflate.js';

describe('hpack inflate (hpack-test-case story format)', () => {
  it('inflates the RFC 7541 C.3 requests as one compression context', () => {
    const story = {
      cases: [
        { seqno: 0, wire: '828684410f7777772e6578616d706c652e636f6d' },
        { seqno: 1, wire: '828684be58086e6f2d6361636865', header_table_size: 4096 },
      ],
    };
    expect(inflateStory(story)).toEqual({
      cases: [
        { seqno: 0, headers: [{ ':method': 'GET' }, { ':scheme': 'http' }, { ':path': '/' }, { ':authority': 'www.example.com' }] },
        {
          seqno: 1,
          headers: [{ ':method': 'GET' }, { ':scheme': 'http' }, { ':path': '/' }, { ':authority': 'www.example.com' }, { 'cache-control': 'no-cache' }],
        },
      ],
    });
  });

  it('treats "header_table_size": null as absent (no size change), as swift-nio\'s stories write it', () => {
    const story = {
      cases: [
        { seqno: 0, wire: '828684410f7777772e6578616d706c652e636f6d', header_table_size: null },
        { seqno: 1, wire: '828684be58086e6f2d6361636865', header_table_size: null },
      ],
    };
    const out = inflateStory(story);
    expect(out.cases.map((c) => c.seqno)).toEqual([0, 1]);
    expect(out.cases[1]!.headers).toContainEqual({ ':authority': 'www.example.com' }); // the dynamic table entry survived
    expect(JSON.parse(runHpackInflate(JSON.stringify(story)))).toEqual(out);
  });

  it('runHpackInflate returns JSON text', () => {
    const out = runHpackInflate('{"cases":[{"seqno":7,"wire":"82"}]}');
    expect(JSON.parse(out)).toEqual({ cases: [{ seqno: 7, headers: [{ ':method': 'GET' }] }] });
    expect(out.endsWith('\n')).toBe(true);
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', '{', /not valid JSON/],
    ['no cases', '{}', /"cases" must be an array/],
    ['array at top level', '[]', /expected a JSON object/],
    ['case without wire', '{"cases":[{"seqno":0}]}', /case 0 \(seqno 0\): "wire" must be a hex string/],
    ['odd-length hex', '{"cases":[{"wire":"828"}]}', /"wire" is not valid hex/],
    ['bad header_table_size', '{"cases":[{"wire":"82","header_table_size":-1}]}', /header_table_size/],
    ['header_table_size that is not a number', '{"cases":[{"wire":"82","header_table_size":"4096"}]}', /header_table_size/],
    ['undecodable block', '{"cases":[{"seqno":3,"wire":"80"}]}', /case 0 \(seqno 3\): HPACK_INVALID_INDEX/],
  ];
  it.each(bad)('rejects %s with InvalidInputError', (_n, input, msg) => {
    expect(() => runHpackInflate(input)).toThrow(InvalidInputError);
    expect(() => runHpackInflate(input)).toThrow(msg);
  });
});
