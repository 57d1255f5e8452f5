/** RFC 9001 Appendix A: sample packet protection for QUIC version 1. */
import { describe, expect, it } from 'vitest';
import { decodePacketNumber } from '../../../core/src/quic/crypto.js';
import { QUIC_V1 } from '../../../core/src/quic/version.js';
import { appendixA } from './rfc-vectors-suite.js';
import { V1 } from './rfc-vectors.js';

describe('RFC 9001 Appendix A (QUIC v1)', () => {
  appendixA(QUIC_V1, V1);
});

describe('RFC 9000 Appendix A.3 packet number decoding', () => {
  it('decodes the §A.3 example: largest 0xa82f30ea, 16-bit 0x9b32 → 0xa82f9b32', () => {
    expect(decodePacketNumber(0xa82f30ea, 0x9b32, 2)).toBe(0xa82f9b32);
  });
  it('wraps forwards and backwards around the window', () => {
    expect(decodePacketNumber(254, 0x01, 1)).toBe(257);
    expect(decodePacketNumber(256, 0xff, 1)).toBe(255);
    expect(decodePacketNumber(-1, 0, 1)).toBe(0);
  });
});
