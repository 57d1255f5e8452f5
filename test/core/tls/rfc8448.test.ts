/**
 * RFC 8448 "Example Handshake Traces for TLS 1.3": the TLS 1.3 key schedule (keys.ts) and record
 * protection (cipher.ts) against the published traces, byte for byte. Every value below is the
 * RFC's, as printed in §3 (Simple 1-RTT Handshake) and §4 (Resumed 0-RTT Handshake); the hex was
 * taken from the RFC text as embedded in independent test suites (e.g. JoyLinks/network
 * TestRFC8448.java, Botan's TLS 1.3 RFC 8448 tests) and cross-checked between them. Nothing here
 * is computed by the code under test: the protected records authenticate only if the whole
 * schedule and the record layer are right.
 */
import { createPrivateKey, createPublicKey, diffieHellman, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tls13Cipher } from '../../../core/src/tls/cipher.js';
import { KeyLog } from '../../../core/src/tls/keylog.js';
import { deriveSecret, hkdfExpandLabel, hkdfExtract, tls13TrafficKeys, transcriptHash } from '../../../core/src/tls/keys.js';
import { suiteParams, type SuiteParams } from '../../../core/src/tls/suites.js';

/** Hex with any whitespace; refuses anything that is not whole hex octets. */
function h(s: string): Buffer {
  const t = s.replace(/\s+/g, '');
  if (t.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(t)) throw new Error(`bad hex: ${t.slice(0, 40)}`);
  return Buffer.from(t, 'hex');
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ZERO32 = Buffer.alloc(32);
const EMPTY = Buffer.alloc(0);

/** A protected record as printed ("complete record"): header (5) then the body. */
function record(s: string): { type: number; version: number; body: Buffer } {
  const r = h(s);
  expect(r.readUInt16BE(3)).toBe(r.length - 5);
  return { type: r[0], version: r.readUInt16BE(1), body: r.subarray(5) };
}

function x25519(priv: string, peerPub: string): Buffer {
  const b64 = (x: string) => h(x).toString('base64url');
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64(priv), x: '' }, format: 'jwk' });
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64(peerPub) }, format: 'jwk' });
  return diffieHellman({ privateKey, publicKey });
}

/** RFC 8446 §4.4.4: verify_data = HMAC(finished_key, Transcript-Hash), finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length). */
function verifyData(baseKey: Uint8Array, messages: Uint8Array[]): string {
  const fk = hkdfExpandLabel('sha256', baseKey, 'finished', EMPTY, 32);
  return createHmac('sha256', fk).update(transcriptHash('sha256', messages)).digest('hex');
}

const P = suiteParams(0x1301) as SuiteParams; // TLS_AES_128_GCM_SHA256, the suite of both traces
const PAYLOAD_0_31 = Buffer.from(Array.from({ length: 50 }, (_, i) => i));

describe('RFC 8448 §3 Simple 1-RTT Handshake', () => {
  const CH = h(`010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001`);
  const SH = h(`020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304`);
  const EE = h(`080000240022000a00140012001d00170018001901000101010201030104001c0002400100000000`);
  const SERVER_FINISHED = h(`140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718`);
  const CLIENT_FINISHED = h(`14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61`);
  const NST = h(`040000c90000001efad6aac502000000b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d2827db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934ae4d3570008002a000400000400`);

  const C_HS = h('b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21');
  const S_HS = h('b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38');
  const C_AP = h('9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5');
  const S_AP = h('a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643');
  const MASTER = h('18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919');

  // {server} send handshake record: EncryptedExtensions, Certificate, CertificateVerify, Finished (679 octets)
  const SERVER_HS_RECORD = `17030302a2
    d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35edf7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b4068905123ea78b111b4
    29ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13bd9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9d7
    477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2ed65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd610
    928d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead686945ba246ab66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef81905
    79b3684596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24
    461aad6d26f59ecaba9acbbb317b66d902f4f292a36ac1b639c637ce343117b659622245317b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa
    31c7a84dc3bd7e1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db
    7cca71e4599426f7d461e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe5a37668936b335583b599186dc5c6918a396fa48a1
    81d6b6fa4f9d62d513afbb992f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c85977b7c7a6999bbf10dc35ae69f5515614636c0b
    9b68c19ed2e31c0b3b66763038ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b845e275592c12335ee340bbc4fddd5027840
    16e4b3be7ef04dda49f4b440a30cb5d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e750edc53370d2b`;
  const CLIENT_FINISHED_RECORD = `1703030035 75ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546`;
  const NST_RECORD = `17030300de
    3a6b8f90414a97d6959c3487680de5134a2b240e6cffac116e95d41d6af8f6b580dcf3d11d63c758db289a015940252f55713e061dc13e078891a38efbcf
    5753ad8ef170ad3c7353d16d9da773b9ca7f2b9fa1b6c0d4a3d03f75e09c30ba1e62972ac46f75f7b981be63439b2999ce13064615139891d5e4c5b406f1
    6e3fc181a77ca475840025db2f0a77f81b5ab05b94c01346755f69232c86519d86cbeeac87aac347d143f9605d64f650db4d023e70e952ca49fe5137121c
    74bc2697687e248746d6df353005f3bce18696129c8153556b3b6c6779b37bf15985684f`;
  const CLIENT_APP_RECORD = `1703030043 a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4`;
  const SERVER_APP_RECORD = `1703030043 2e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d`;
  const CLIENT_ALERT_RECORD = `1703030013 c9872760655666b74d7ff1153efd6db6d0b0e3`;
  const SERVER_ALERT_RECORD = `1703030013 b58fd67166ebf599d24720cfbe7efa7a8864a9`;

  it('§3 key schedule: early, handshake and master secrets (HKDF-Extract, Derive-Secret "derived")', () => {
    const shared = x25519('49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005', 'c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f');
    expect(hex(shared)).toBe('8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d');
    const early = hkdfExtract('sha256', EMPTY, ZERO32);
    expect(hex(early)).toBe('33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a');
    const derived = deriveSecret('sha256', early, 'derived', []);
    expect(hex(derived)).toBe('6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba');
    const hs = hkdfExtract('sha256', derived, shared);
    expect(hex(hs)).toBe('1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac');
    expect(hex(deriveSecret('sha256', hs, 'c hs traffic', [CH, SH]))).toBe(hex(C_HS));
    expect(hex(deriveSecret('sha256', hs, 's hs traffic', [CH, SH]))).toBe(hex(S_HS));
    const derived2 = deriveSecret('sha256', hs, 'derived', []);
    expect(hex(derived2)).toBe('43de77e0c77713859a944db9db2590b53190a65b3ee2e4f12dd7a0bb7ce254b4');
    expect(hex(hkdfExtract('sha256', derived2, ZERO32))).toBe(hex(MASTER));
  });

  it('§3 {server} derive write traffic keys for handshake data / {client} likewise (RFC 8446 §7.3)', () => {
    const s = tls13TrafficKeys(P, S_HS);
    expect([hex(s.key), hex(s.iv)]).toEqual(['3fce516009c21727d0f2e4e86ee403bc', '5d313eb2671276ee13000b30']);
    const c = tls13TrafficKeys(P, C_HS);
    expect([hex(c.key), hex(c.iv)]).toEqual(['dbfaa693d1762c5b666af5d950258d01', '5bd3c71b836e0b76bb73265f']);
  });

  it('§3 {server} derive write traffic keys for application data / {client} likewise', () => {
    const s = tls13TrafficKeys(P, S_AP);
    expect([hex(s.key), hex(s.iv)]).toEqual(['9f02283b6c9c07efc26bb9f2ac92e356', 'cf782b88dd83549aadf1e984']);
    const c = tls13TrafficKeys(P, C_AP);
    expect([hex(c.key), hex(c.iv)]).toEqual(['17422dda596ed5d9acd890e3c63f5051', '5b78923dee08579033e523d9']);
  });

  it('§3 {server} send handshake record: decrypts to EncryptedExtensions … Finished, and the transcript gives the application secrets', () => {
    const r = record(SERVER_HS_RECORD);
    expect(r.body.length).toBe(0x2a2);
    const res = tls13Cipher(P, S_HS).decrypt(0, r.type, r.version, r.body);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.type).toBe(22); // handshake
    // Split the handshake messages: type (1) + length (3) + body.
    const msgs: Buffer[] = [];
    const data = Buffer.from(res.data);
    for (let off = 0; off < data.length; ) {
      const len = data.readUIntBE(off + 1, 3);
      msgs.push(data.subarray(off, off + 4 + len));
      off += 4 + len;
    }
    expect(msgs.map((m) => m[0])).toEqual([8, 11, 15, 20]); // EE, Certificate, CertificateVerify, Finished
    expect(hex(msgs[0])).toBe(hex(EE));
    expect(hex(msgs[3])).toBe(hex(SERVER_FINISHED));
    // {server} calculate finished "tls13 finished" (RFC 8446 §4.4.4) over CH … CertificateVerify
    expect(verifyData(S_HS, [CH, SH, msgs[0], msgs[1], msgs[2]])).toBe(hex(SERVER_FINISHED.subarray(4)));
    // {server} derive secret "tls13 c ap traffic" / "tls13 s ap traffic" / "tls13 exp master" over CH … server Finished
    const t = [CH, SH, ...msgs];
    expect(hex(deriveSecret('sha256', MASTER, 'c ap traffic', t))).toBe(hex(C_AP));
    expect(hex(deriveSecret('sha256', MASTER, 's ap traffic', t))).toBe(hex(S_AP));
    expect(hex(deriveSecret('sha256', MASTER, 'exp master', t))).toBe('fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50');
    // {client} calculate finished, and "tls13 res master" / "tls13 resumption" (§4.6.1) for §4's PSK
    expect(verifyData(C_HS, t)).toBe(hex(CLIENT_FINISHED.subarray(4)));
    const resMaster = deriveSecret('sha256', MASTER, 'res master', [...t, CLIENT_FINISHED]);
    expect(hex(resMaster)).toBe('7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c');
    expect(hex(hkdfExpandLabel('sha256', resMaster, 'resumption', h('0000'), 32))).toBe('4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3');
  });

  it('§3 {client} send handshake record: the client Finished under the client handshake key', () => {
    const r = record(CLIENT_FINISHED_RECORD);
    expect(tls13Cipher(P, C_HS).decrypt(0, r.type, r.version, r.body)).toEqual({ ok: true, type: 22, data: CLIENT_FINISHED });
  });

  it('§3 {server} NewSessionTicket, application data and alert: sequence numbers 0, 1, 2 under one key', () => {
    const c = tls13Cipher(P, S_AP);
    const nst = record(NST_RECORD);
    expect(c.decrypt(0, nst.type, nst.version, nst.body)).toEqual({ ok: true, type: 22, data: NST });
    const app = record(SERVER_APP_RECORD);
    expect(c.decrypt(1, app.type, app.version, app.body)).toEqual({ ok: true, type: 23, data: PAYLOAD_0_31 });
    const alert = record(SERVER_ALERT_RECORD);
    expect(c.decrypt(2n, alert.type, alert.version, alert.body)).toEqual({ ok: true, type: 21, data: h('0100') }); // close_notify
    // the same record at a wrong sequence number, with a wrong key, or with a wrong header does not authenticate
    expect(c.decrypt(1, alert.type, alert.version, alert.body)).toEqual({ ok: false, reason: 'auth' });
    expect(tls13Cipher(P, C_AP).decrypt(2, alert.type, alert.version, alert.body)).toEqual({ ok: false, reason: 'auth' });
    expect(c.decrypt(2, alert.type, 0x0301, alert.body)).toEqual({ ok: false, reason: 'auth' });
  });

  it('§3 {client} application data and alert, with the secrets looked up in a key log', () => {
    const random = CH.subarray(6, 38);
    const keys = new KeyLog();
    const st = keys.addText(
      [
        `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${hex(random)} ${hex(C_HS)}`,
        `SERVER_HANDSHAKE_TRAFFIC_SECRET ${hex(random)} ${hex(S_HS)}`,
        `CLIENT_TRAFFIC_SECRET_0 ${hex(random)} ${hex(C_AP)}`,
        `SERVER_TRAFFIC_SECRET_0 ${hex(random)} ${hex(S_AP)}`,
      ].join('\n'),
    );
    expect(st.entries).toBe(4);
    const c = tls13Cipher(P, keys.get('CLIENT_TRAFFIC_SECRET_0', random) as Uint8Array);
    const app = record(CLIENT_APP_RECORD);
    expect(c.decrypt(0, app.type, app.version, app.body)).toEqual({ ok: true, type: 23, data: PAYLOAD_0_31 });
    const alert = record(CLIENT_ALERT_RECORD);
    expect(c.decrypt(1, alert.type, alert.version, alert.body)).toEqual({ ok: true, type: 21, data: h('0100') });
  });
});

describe('RFC 8448 §4 Resumed 0-RTT Handshake', () => {
  const CH_PREFIX = h(`010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc419d7876487d95000006130113031302010001cd0000000b0009000006736572766572ff01000100000a00140012001d00170018001901000101010201030104003300260024001d0020e4ffb68ac05f8d96c99da26698346c6be16482badddafe051a66b4f18d668f0b002a0000002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c0002400100150057000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002900dd00b800b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d2827db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934ae4d357fad6aacb`);
  const BINDER = h('3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d');
  const CH = Buffer.concat([CH_PREFIX, h('002120'), BINDER]);
  const SH = h(`0200005c03033ccfd2dec890222763472ae8136777c9d7358777bb66e91ea5122495f559ea2d00130100003400290002000000330024001d0020121761ee42c333e1b9e77b60dd57c2053cd94512ab47f115e86eff50942cea31002b00020304`);
  const EE = h(`080000280026000a00140012001d00170018001901000101010201030104001c0002400100000000002a0000`);
  const SERVER_FINISHED = h(`1400002048d3e0e1b3d907c6acff145e16090388c77b05c050b634ab1a88bbd0dd1a34b2`);
  const END_OF_EARLY_DATA = h('05000000');
  const CLIENT_FINISHED = h(`140000207230a9c952c25cd6138fc5e6628308c41c5335dd81b9f96bcea50fd32bda416d`);
  const PSK = h('4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3');

  const C_E = h('3fbbe6a60deb66c30a32795aba0eff7eaa10105586e7be5c09678d63b6caab62');
  const C_HS = h('2faac08f851d35fea3604fcb4de82dc62c9b164a70974d0462e27f1ab278700f');
  const S_HS = h('fe927ae271312e8bf0275b581c54eef020450dc4ecffaa05a1a35d27518e7803');
  const C_AP = h('2abbf2b8e381d23dbebe1dd2a7d16a8bf484cb4950d23fb7fb7fa8547062d9a1');
  const S_AP = h('cc21f1bf8feb7dd5fa505bd9c4b468a9984d554a993dc49e6d285598fb672691');

  it('§4 early secret from the PSK, the PSK binder (RFC 8446 §4.2.11.2) and the early traffic secret', () => {
    const early = hkdfExtract('sha256', EMPTY, PSK);
    expect(hex(early)).toBe('9b2188e9b2fc6d64d71dc329900e20bb41915000f678aa839cbb797cb7d8332c');
    expect(hex(transcriptHash('sha256', [CH_PREFIX]))).toBe('63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14');
    const binderKey = deriveSecret('sha256', early, 'res binder', []);
    expect(hex(binderKey)).toBe('69fe131a3bbad5d63c64eebcc30e395b9d8107726a13d074e389dbc8a4e47256');
    expect(hex(hkdfExpandLabel('sha256', binderKey, 'finished', EMPTY, 32))).toBe('5588673e72cb59c87d220caffe94f2dea9a3b1609f7d50e90a48227db9ed7eaa');
    expect(verifyData(binderKey, [CH_PREFIX])).toBe(hex(BINDER));
    expect(hex(deriveSecret('sha256', early, 'c e traffic', [CH]))).toBe(hex(C_E));
    expect(hex(deriveSecret('sha256', early, 'e exp master', [CH]))).toBe('b2026866610937d7423e5be90862ccf24c0e6091186d34f812089ff5be2ef7df');
    const k = tls13TrafficKeys(P, C_E);
    expect([hex(k.key), hex(k.iv)]).toEqual(['920205a5b7bf2115e6fc5c2942834f54', '6d475f0993c8e564610db2b9']);
  });

  it('§4 handshake and application secrets, keys and IVs', () => {
    const early = hkdfExtract('sha256', EMPTY, PSK);
    const derived = deriveSecret('sha256', early, 'derived', []);
    expect(hex(derived)).toBe('5f1790bbd82c5e7d376ed2e1e52f8e6038c9346db61b43be9a52f77ef3998e80');
    const shared = x25519('de5b4476e7b490b2652d338acbf2948066f255f9440e23b98fc69835298dc107', 'e4ffb68ac05f8d96c99da26698346c6be16482badddafe051a66b4f18d668f0b');
    expect(hex(shared)).toBe('f44194756ff9ec9d25180635d66ea6824c6ab3bf179977be37f723570e7ccb2e');
    const hs = hkdfExtract('sha256', derived, shared);
    expect(hex(hs)).toBe('005cb112fd8eb4ccc623bb88a07c64b3ede1605363fc7d0df8c7ce4ff0fb4ae6');
    expect(hex(deriveSecret('sha256', hs, 'c hs traffic', [CH, SH]))).toBe(hex(C_HS));
    expect(hex(deriveSecret('sha256', hs, 's hs traffic', [CH, SH]))).toBe(hex(S_HS));
    const derived2 = deriveSecret('sha256', hs, 'derived', []);
    expect(hex(derived2)).toBe('e2f16030251df0874ba19b9aba257610bc6d531c1dd206df0ca6e84ae2a26742');
    const master = hkdfExtract('sha256', derived2, ZERO32);
    expect(hex(master)).toBe('e2d32d4ed66dd37897a0e80c84107503ce58bf8aad4cb55a5002d77ecb890ece');
    const t = [CH, SH, EE, SERVER_FINISHED];
    expect(verifyData(S_HS, [CH, SH, EE])).toBe(hex(SERVER_FINISHED.subarray(4)));
    expect(hex(deriveSecret('sha256', master, 'c ap traffic', t))).toBe(hex(C_AP));
    expect(hex(deriveSecret('sha256', master, 's ap traffic', t))).toBe(hex(S_AP));
    expect(hex(deriveSecret('sha256', master, 'exp master', t))).toBe('3fd93d4ffddc98e64b14dd107aedf8ee4add23f4510f58a4592d0b201bee56b4');
    expect(verifyData(C_HS, [...t, END_OF_EARLY_DATA])).toBe(hex(CLIENT_FINISHED.subarray(4)));
    expect(hex(deriveSecret('sha256', master, 'res master', [...t, END_OF_EARLY_DATA, CLIENT_FINISHED]))).toBe(
      '5e95bdf1f89005ea2e9aa0ba85e728e3c19c5fe0c699e3f5bee59faebd0b5406',
    );
    const keys = (s: Uint8Array) => {
      const k = tls13TrafficKeys(P, s);
      return [hex(k.key), hex(k.iv)];
    };
    expect(keys(S_HS)).toEqual(['27c6bdc0a3dcea39a47326d79bc9e4ee', '9569ecdd4d0536705e9ef725']);
    expect(keys(C_HS)).toEqual(['b1530806f4adfeac83f1413032bbfa82', 'eb50c16be7654abf99dd06d9']);
    expect(keys(S_AP)).toEqual(['e857c690a34c5a9129d833619684f95e', '0685d6b561aab9ef1013faf9']);
    expect(keys(C_AP)).toEqual(['3cf122f301c6358ca7989553250efd72', 'ab1aec26aa78b8fc1176b9ac']);
  });

  it('§4 {client} 0-RTT application data and EndOfEarlyData under the early traffic key (sequence 0, 1)', () => {
    const c = tls13Cipher(P, C_E);
    const app = record('1703030017 ab1df420e75c457a7cc5d2844f76d5aee4b4edbf049be0');
    expect(c.decrypt(0, app.type, app.version, app.body)).toEqual({ ok: true, type: 23, data: Buffer.from('ABCDEF') });
    const eoed = record('1703030015 aca6fc944841298df99593725f9bf9754429b12f09');
    expect(c.decrypt(1, eoed.type, eoed.version, eoed.body)).toEqual({ ok: true, type: 22, data: END_OF_EARLY_DATA });
    // early data is not protected by the handshake key (the server tells them apart by trying)
    expect(tls13Cipher(P, C_HS).decrypt(0, app.type, app.version, app.body)).toEqual({ ok: false, reason: 'auth' });
  });

  it('§4 {server} EncryptedExtensions + Finished and {client} Finished under the handshake keys', () => {
    const s = record(`1703030061
      dc48237b4b879f50d0d4d262ea8b4716eb40ddc1eb957e11126e8a7149c2d012d37a7115957e64ce30008b9e0323f2c05a9c1c77b4f37849a695ab2550
      60a33fee770ca95cb8486bfd0843b87024865ca35cc41c4e515c64dcb1369f98635bc7a5`);
    expect(tls13Cipher(P, S_HS).decrypt(0, s.type, s.version, s.body)).toEqual({ ok: true, type: 22, data: Buffer.concat([EE, SERVER_FINISHED]) });
    const c = record('1703030035 00f8b467d14cf22a4b3f0b6ae0d8e6cc8d08e0db3515ef5c2bdf1922eafbb70009964716d834fb70c3d2a56c5b1f5f6bdba6c333cf');
    expect(tls13Cipher(P, C_HS).decrypt(0, c.type, c.version, c.body)).toEqual({ ok: true, type: 22, data: CLIENT_FINISHED });
  });

  it('§4 application data and alerts in both directions', () => {
    const c = tls13Cipher(P, C_AP);
    const s = tls13Cipher(P, S_AP);
    const capp = record(`1703030043 b1cebce242aa201be9ae5e1cb2a9aa4b33d4e866af1edb068919237741aa031d7a74d491c99b9d4e232b74206bc6fbaa04fe78be44a9b4f54320a17eb76992afac3103`);
    expect(c.decrypt(0, capp.type, capp.version, capp.body)).toEqual({ ok: true, type: 23, data: PAYLOAD_0_31 });
    const sapp = record(`1703030043 275e9f20acff57bc000657d3867df039cccf79047884cf75771746f740b5a83f462a0954c3581393a203a25a7dd14141ef1a37900cdb62ff62dee1ba39ab2590cbf194`);
    expect(s.decrypt(0, sapp.type, sapp.version, sapp.body)).toEqual({ ok: true, type: 23, data: PAYLOAD_0_31 });
    const calert = record('1703030013 0facce3246bdfc6369838d6a82ae6de5d422dc');
    expect(c.decrypt(1, calert.type, calert.version, calert.body)).toEqual({ ok: true, type: 21, data: h('0100') });
    const salert = record('1703030013 5b18af444e8e1eec7158fb62d8f2577d37ba5d');
    expect(s.decrypt(1, salert.type, salert.version, salert.body)).toEqual({ ok: true, type: 21, data: h('0100') });
  });
});
