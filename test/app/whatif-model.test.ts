/**
 * The What-if panel's view model (app/renderer/model/whatIf.ts): core's estimates laid out, every
 * policy in the data shown (known or not), numbers formatted as the panel shows them, bars scaled
 * to the longest measured origin.
 */
import { describe, expect, it } from 'vitest';
import type { WhatIf, WhatIfEstimate, WhatIfOrigin } from '../../core/src/model/types.js';
import { fieldLabel, handshakesText, MAX_WHATIF_ROWS, POLICY_LABELS, savedText, whatIfCards } from '../../app/renderer/model/whatIf.js';
import { formatMs } from '../../app/renderer/model/format.js';

function origin(p: Partial<WhatIfOrigin>): WhatIfOrigin {
  return {
    client: '10.0.0.1',
    origin: 'a.test (10.0.0.2:443)',
    protocol: 'http/1.1',
    requests: 10,
    connections: 10,
    estimatedConnections: 1,
    handshakesAvoided: { tcp: 9, tls: 9, ms: 369 },
    rttMs: 20,
    startTime: 0,
    measuredMs: 2000,
    estimatedMs: 700,
    savedMs: 1300,
    unplacedRequests: 0,
    thinkMs: 0,
    ...p,
  };
}

function estimate(p: Partial<WhatIfEstimate>): WhatIfEstimate {
  const perOrigin = p.perOrigin ?? [origin({})];
  return {
    policy: 'reuse',
    measuredMs: 2000,
    estimatedMs: 700,
    savedMs: 1300,
    savedPct: 65,
    confidence: 0.98,
    requests: 10,
    connections: 10,
    estimatedConnections: 1,
    handshakesAvoided: { tcp: 9, tls: 9, ms: 369 },
    assumptions: ['think time kept'],
    perOrigin,
    originsOmitted: 0,
    ...p,
  };
}

describe('what-if view model', () => {
  it('makes one card per estimate, in the report’s order, with the panel’s formatted numbers', () => {
    const w: WhatIf = { reuse: estimate({}), h2: estimate({ policy: 'h2', estimatedMs: 1500, savedMs: 500 }), keepaliveTimeout: estimate({ policy: 'keepalive-timeout' }) };
    const cards = whatIfCards(w);
    expect(cards.map((c) => [c.key, c.policy])).toEqual([
      ['reuse', 'reuse'],
      ['h2', 'h2'],
      ['keepaliveTimeout', 'keepalive-timeout'],
    ]);
    const r = cards[0]!;
    expect(r.label).toBe(POLICY_LABELS.reuse);
    expect(r.measured).toBe(formatMs(2000));
    expect(r.estimated).toBe(formatMs(700));
    expect(r.saved).toBe(`${formatMs(1300)} (65.0%)`);
    expect(r.connections).toBe('10 → 1');
    expect(r.handshakes).toBe(`9 TCP + 9 TLS (${formatMs(369)})`);
    expect(r.confidence).toBe('98%');
    expect(r.empty).toBe(false);
  });

  it('shows a policy the UI does not know under its id, with its extra fields as they are', () => {
    const odd = { ...estimate({}), policy: 'http3-upgrade', quicHandshakesMs: 120, zeroRttOffered: true, upgradeAfterS: 5, nested: { x: 1 }, note: null };
    const cards = whatIfCards({ reuse: estimate({}), http3: odd } as unknown as WhatIf);
    const c = cards.find((x) => x.key === 'http3')!;
    expect(c.label).toBe('http3-upgrade');
    expect(c.extras).toEqual([
      ['quic handshakes (ms)', formatMs(120)],
      ['zero rtt offered', 'true'],
      ['upgrade after (s)', '5 s'],
      ['note', 'none'],
    ]);
  });

  it('lists keepalive-timeout’s own fields as extras', () => {
    const k = estimate({ policy: 'keepalive-timeout', keepaliveTimeoutS: 10, serverIdleCloses: 4, serverIdleClosesAvoided: 4, sufficientTimeoutS: 2 });
    const c = whatIfCards({ keepaliveTimeout: k } as unknown as WhatIf)[0]!;
    expect(c.extras).toEqual([
      ['keepalive timeout (s)', '10 s'],
      ['server idle closes', '4'],
      ['server idle closes avoided', '4'],
      ['sufficient timeout (s)', '2 s'],
    ]);
  });

  it('ignores entries that are not estimates, and has no cards without whatIf', () => {
    expect(whatIfCards(undefined)).toEqual([]);
    expect(whatIfCards({ reuse: estimate({}), skipped: 'too many requests', junk: { policy: 'x' } } as unknown as WhatIf).map((c) => c.key)).toEqual(['reuse']);
  });

  it('scales the bar pair of each origin to the longest measured origin', () => {
    const e = estimate({ perOrigin: [origin({ measuredMs: 4000, estimatedMs: 1000 }), origin({ origin: 'b.test', measuredMs: 2000, estimatedMs: 2000, savedMs: 0 })] });
    const [a, b] = whatIfCards({ reuse: e } as unknown as WhatIf)[0]!.origins;
    expect([a!.measuredFrac, a!.estimatedFrac]).toEqual([1, 0.25]);
    expect([b!.measuredFrac, b!.estimatedFrac]).toEqual([0.5, 0.5]);
    expect(b!.saved).toBe('no saving');
  });

  it(`shows at most ${MAX_WHATIF_ROWS} origins and counts the rest, core's omitted ones included`, () => {
    const many = Array.from({ length: MAX_WHATIF_ROWS + 3 }, (_, i) => origin({ origin: `o${i}.test` }));
    const c = whatIfCards({ reuse: estimate({ perOrigin: many, originsOmitted: 7 }) } as unknown as WhatIf)[0]!;
    expect(c.origins).toHaveLength(MAX_WHATIF_ROWS);
    expect(c.moreOrigins).toBe(10);
  });

  it('marks an estimate that covers no request as empty', () => {
    expect(whatIfCards({ h2: estimate({ policy: 'h2', requests: 0, perOrigin: [] }) } as unknown as WhatIf)[0]!.empty).toBe(true);
  });

  it('formats savings, handshakes and field names', () => {
    expect(savedText(0, 100)).toBe('no saving');
    expect(savedText(50, 200)).toBe(`${formatMs(50)} (25.0%)`);
    expect(handshakesText({ tcp: 0, tls: 0, ms: 0 })).toBe('none');
    expect(handshakesText({ tcp: 2, tls: 0, ms: 40 })).toBe(`2 TCP (${formatMs(40)})`);
    expect(fieldLabel('serverIdleClosesAvoided')).toBe('server idle closes avoided');
    expect(fieldLabel('keepaliveTimeoutS')).toBe('keepalive timeout (s)');
  });
});
