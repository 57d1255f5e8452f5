/** The Appendix A checks, shared by RFC 9001 (v1) and RFC 9369 (v2): same steps, each version's values. */
import { describe, expect, it } from 'vitest';
import { hkdfExpandLabel } from '../../../core/src/tls/keys.js';
import {
  decodePacketNumber,
  initialKeys,
  initialSecrets,
  PacketKeys,
  quicSuite,
  removeHeaderProtection,
  retryIntegrityValid,
} from '../../../core/src/quic/crypto.js';
import { parseLongHeader, parseShortHeader } from '../../../core/src/quic/packet.js';
import { versionParams } from '../../../core/src/quic/version.js';
import { CLIENT_CRYPTO_FRAME, DCID, hex, SERVER_PAYLOAD, toHexStr, type V1 } from './rfc-vectors.js';

type Vectors = typeof V1;

export function appendixA(version: number, V: Vectors): void {
  const vp = versionParams(version)!;

  describe('A.1 Keys', () => {
    it('derives the initial secret and the client and server secrets from the DCID', () => {
      const s = initialSecrets(vp, DCID);
      expect(toHexStr(s.initial)).toBe(V.initialSecret);
      expect(toHexStr(s.client)).toBe(V.clientSecret);
      expect(toHexStr(s.server)).toBe(V.serverSecret);
    });
    it('derives key, iv and hp for both sides with the version labels', () => {
      const k = initialKeys(vp, DCID);
      expect(toHexStr(k.client.key)).toBe(V.client.key);
      expect(toHexStr(k.client.iv)).toBe(V.client.iv);
      expect(toHexStr(k.client.hp)).toBe(V.client.hp);
      expect(toHexStr(k.server.key)).toBe(V.server.key);
      expect(toHexStr(k.server.iv)).toBe(V.server.iv);
      expect(toHexStr(k.server.hp)).toBe(V.server.hp);
    });
  });

  describe('A.2 Client Initial', () => {
    it('computes the header protection mask from the sample', () => {
      const k = initialKeys(vp, DCID).client;
      expect(toHexStr(k.mask(hex(V.clientSample))!)).toBe(V.clientMask);
    });
    it('parses the protected packet, removes header protection and opens the 1162-octet payload', () => {
      const pkt = V.clientPacket;
      expect(pkt.length).toBe(1200);
      const r = parseLongHeader(pkt, 0);
      if (!r.ok) throw new Error(r.detail);
      const h = r.h;
      expect(h.type).toBe('initial');
      expect(toHexStr(h.dcid)).toBe('8394c8f03e515708');
      expect(h.scid.length).toBe(0);
      expect(h.end).toBe(1200);
      const k = initialKeys(vp, h.dcid).client;
      const u = removeHeaderProtection(k, pkt, 0, h.pnOffset, h.end, true)!;
      expect(toHexStr(u.header)).toBe(V.clientHeader);
      expect(u.pnLen).toBe(4);
      const pn = decodePacketNumber(-1, u.truncatedPn, u.pnLen);
      expect(pn).toBe(2);
      const payload = k.open(pn, u.header, pkt.subarray(h.pnOffset + u.pnLen, h.end))!;
      expect(payload).not.toBeNull();
      expect(payload.length).toBe(1162);
      expect(toHexStr(payload.subarray(0, CLIENT_CRYPTO_FRAME.length))).toBe(toHexStr(CLIENT_CRYPTO_FRAME));
      expect(payload.subarray(CLIENT_CRYPTO_FRAME.length).every((b) => b === 0)).toBe(true);
    });
    it('does not open the packet under the server keys or after one flipped octet', () => {
      const pkt = new Uint8Array(V.clientPacket);
      const r = parseLongHeader(pkt, 0);
      if (!r.ok) throw new Error(r.detail);
      const server = initialKeys(vp, DCID).server;
      const u = removeHeaderProtection(server, pkt, 0, r.h.pnOffset, r.h.end, true)!;
      expect(server.open(decodePacketNumber(-1, u.truncatedPn, u.pnLen), u.header, pkt.subarray(r.h.pnOffset + u.pnLen))).toBeNull();
      const client = initialKeys(vp, DCID).client;
      pkt[600] ^= 1;
      const u2 = removeHeaderProtection(client, pkt, 0, r.h.pnOffset, r.h.end, true)!;
      expect(client.open(2, u2.header, pkt.subarray(r.h.pnOffset + u2.pnLen))).toBeNull();
    });
  });

  describe('A.3 Server Initial', () => {
    it('computes the mask, removes protection from the 2-octet packet number and opens the payload', () => {
      const k = initialKeys(vp, DCID).server;
      expect(toHexStr(k.mask(hex(V.serverSample))!)).toBe(V.serverMask);
      const pkt = V.serverPacket;
      const r = parseLongHeader(pkt, 0);
      if (!r.ok) throw new Error(r.detail);
      expect(r.h.type).toBe('initial');
      expect(toHexStr(r.h.scid)).toBe('f067a5502a4262b5');
      expect(r.h.dcid.length).toBe(0);
      const u = removeHeaderProtection(k, pkt, 0, r.h.pnOffset, r.h.end, true)!;
      expect(toHexStr(u.header)).toBe(V.serverHeader);
      expect(u.pnLen).toBe(2);
      const pn = decodePacketNumber(-1, u.truncatedPn, u.pnLen);
      expect(pn).toBe(1);
      const payload = k.open(pn, u.header, pkt.subarray(r.h.pnOffset + u.pnLen, r.h.end))!;
      expect(toHexStr(payload)).toBe(toHexStr(SERVER_PAYLOAD));
    });
  });

  describe('A.4 Retry', () => {
    it('parses the Retry and validates its integrity tag against the original DCID', () => {
      const r = parseLongHeader(V.retry, 0);
      if (!r.ok) throw new Error(r.detail);
      expect(r.h.type).toBe('retry');
      expect(toHexStr(r.h.scid)).toBe('f067a5502a4262b5');
      expect(Buffer.from(r.h.token).toString('latin1')).toBe('token');
      expect(retryIntegrityValid(vp, DCID, V.retry)).toBe(true);
      expect(retryIntegrityValid(vp, hex('8394c8f03e515709'), V.retry)).toBe(false);
    });
  });

  describe('A.5 ChaCha20-Poly1305 Short Header Packet', () => {
    const c = V.chacha;
    const suite = quicSuite(0x1303)!;
    it('derives key, iv, hp and ku from the secret', () => {
      const k = new PacketKeys(suite, vp, hex(c.secret));
      expect(toHexStr(k.key)).toBe(c.key);
      expect(toHexStr(k.iv)).toBe(c.iv);
      expect(toHexStr(k.hp)).toBe(c.hp);
      expect(toHexStr(hkdfExpandLabel('sha256', hex(c.secret), `${vp.labelPrefix} ku`, new Uint8Array(0), 32))).toBe(c.ku);
      const next = k.next();
      expect(toHexStr(next.secret)).toBe(c.ku);
      expect(toHexStr(next.hp)).toBe(c.hp);
    });
    it('computes the ChaCha20 mask, decodes packet number 654360564 and opens the PING', () => {
      const k = new PacketKeys(suite, vp, hex(c.secret));
      expect(toHexStr(k.mask(hex(c.sample))!)).toBe(c.mask);
      const r = parseShortHeader(c.packet, 0, 0);
      if (!r.ok) throw new Error(r.detail);
      const u = removeHeaderProtection(k, c.packet, 0, r.h.pnOffset, r.h.end, false)!;
      expect(toHexStr(u.header)).toBe('4200bff4');
      expect(u.pnLen).toBe(3);
      const pn = decodePacketNumber(654360563, u.truncatedPn, u.pnLen);
      expect(pn).toBe(654360564);
      const payload = k.open(pn, u.header, c.packet.subarray(r.h.pnOffset + u.pnLen))!;
      expect(toHexStr(payload)).toBe('01');
    });
  });
}
