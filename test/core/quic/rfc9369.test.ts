/** RFC 9369 Appendix A: sample packet protection for QUIC version 2 (salt, labels, type bits). */
import { describe } from 'vitest';
import { QUIC_V2 } from '../../../core/src/quic/version.js';
import { appendixA } from './rfc-vectors-suite.js';
import { V2 } from './rfc-vectors.js';

describe('RFC 9369 Appendix A (QUIC v2)', () => {
  appendixA(QUIC_V2, V2);
});
